// course-serve: the local HTTP server in the foreground (`./course serve [options]`).
// It prints its URL, serves until Ctrl-C (SIGINT) or SIGTERM, then stops cleanly and
// prints its counters.
//
//   main thread: waits for a signal (asio::signal_set on its own io_context)
//   pool threads: the server (course::LocalServer), until its destructor joins them
#include <chrono>
#include <csignal>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>

#include "common/local_server.hpp"

namespace po = boost::program_options;

int main(int argc, char** argv) {
    course::ServerOptions options;
    long long latency_ms = 0, connect_cost_ms = 0;
    po::options_description described(
        "course-serve: a local HTTP server on 127.0.0.1 for the course's lessons\n"
        "Endpoints: /delay/{ms} /chunk/{i}?size=N /bytes/{n} /status/{code} /flaky/{key}?fail=K /files/{name} /stats\n"
        "Options");
    described.add_options()
        ("help,h", "print this help and exit")
        ("port,p", po::value(&options.port)->default_value(0), "port to listen on (0 = any free port)")
        ("address", po::value(&options.address)->default_value("127.0.0.1"), "address (127.0.0.1 only)")
        ("threads", po::value(&options.threads)->default_value(2), "threads running the server")
        ("latency-ms", po::value(&latency_ms)->default_value(0), "every request waits this long")
        ("connect-cost-ms", po::value(&connect_cost_ms)->default_value(0),
         "the first request on a new connection waits this much more (TCP+TLS setup)")
        ("failure-rate", po::value(&options.failure_rate)->default_value(0), "fraction of requests answered 503")
        ("failure-seed", po::value(&options.failure_seed)->default_value(1), "seed of the failure pattern")
        ("max-connections", po::value(&options.max_connections)->default_value(0),
         "connections open at once (0 = unlimited); beyond it: one 503, then closed")
        ("files-dir", po::value(&options.files_dir), "folder served under /files/");

    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, described), vm);
        if (vm.count("help")) {
            std::cout << described << "\n";
            return 0;
        }
        po::notify(vm);
        options.latency = std::chrono::milliseconds(latency_ms);
        options.connect_cost = std::chrono::milliseconds(connect_cost_ms);

        // The signals are caught before the server says it listens: whoever reads that
        // line may stop us at once.
        boost::asio::io_context signals_io;
        boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
        course::LocalServer server(options);
        std::cout << "course-serve: listening on " << server.url() << "  (Ctrl-C stops)" << std::endl;

        // The main thread sleeps in run() until a signal arrives; the server's own
        // threads serve meanwhile.
        signals.async_wait([](const boost::system::error_code&, int signal) {
            std::cout << "\ncourse-serve: " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping" << std::endl;
        });
        signals_io.run();

        auto s = server.stats();
        std::cout << "course-serve: " << s.connections_opened << " connections, " << s.requests_served
                  << " requests served (" << s.requests_failed << " failed on purpose), peak "
                  << s.peak_in_flight << " in flight" << std::endl;
        return 0;  // ~LocalServer stops the server and joins its threads
    } catch (const std::exception& e) {
        std::cerr << "course-serve: " << e.what() << "\n";
        return 1;
    }
}
