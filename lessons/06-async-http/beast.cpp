// Section 5: the same window with Boost.Beast on Asio coroutines. `limit` coroutines on ONE
// io_context run by ONE thread; each owns one kept-alive connection and loops: take the
// next key from the shared queue, GET it, store the body, take the next. A coroutine
// suspended in a read holds no thread, so the one thread serves all of them.
//
//   one thread, io_context.run():
//     coroutine 1 (connection 1)  |c r| r | r | r | ...   each takes the next key
//     coroutine 2 (connection 2)  |c r| r | r | r | ...   as soon as its answer is in:
//     ...                                                  a window that slides
//     queue of keys: 10 11 12 ...  (one thread: a plain counter, no lock)
#include <cstdio>
#include <exception>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "parts.hpp"

namespace lesson06 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// The keys not yet taken. Every coroutine runs on the same one thread, so taking the
// next key needs no lock: nothing else runs between the check and the increment.
struct KeyQueue {
    std::size_t next = 0, count = 0;
    std::optional<std::size_t> take() {
        if (next == count) return std::nullopt;
        return next++;
    }
};

// What every connection coroutine shares: where to connect, what to GET, where results go.
struct Job {
    tcp::resolver::results_type endpoints;
    std::string host;       // the Host header
    std::string path;       // "/files/arange.zarr": key k is path + "/" + k
    KeyQueue keys;
    std::vector<Transfer>* transfers = nullptr;
    ConnectionTimeline* timeline = nullptr;
};

// One GET on an open connection. Every step has a deadline (tcp_stream's expiry), so a
// server that stops answering ends this with an error instead of a hang.
awaitable<void> get_on(beast::tcp_stream& stream, beast::flat_buffer& buffer, const Job& job, Transfer& t,
                       bool& keep_alive) {
    http::request<http::empty_body> request{http::verb::get, job.path + "/" + std::to_string(t.index), 11};
    request.set(http::field::host, job.host);
    request.keep_alive(true);
    stream.expires_after(std::chrono::milliseconds(transfer_timeout_ms));
    co_await http::async_write(stream, request, use_awaitable);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    auto response = parser.release();
    t.status = long(response.result_int());
    t.body = std::move(response.body());
    keep_alive = response.keep_alive();
}

// One connection, one coroutine: take a key, GET it, repeat until the queue is empty. A
// named coroutine taking its parameters by value or pointer, so its frame owns what it uses.
awaitable<void> connection_worker(int number, Job* job) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    beast::flat_buffer buffer;
    bool connected = false;
    while (auto index = job->keys.take()) {
        Transfer& t = (*job->transfers)[*index];
        // A kept-alive connection the server has closed shows up as an error on the next
        // request: connect again and retry once.
        for (int attempt = 1; attempt <= 2; ++attempt) {
            bool keep_alive = false;
            t.sent = Clock::now();
            try {
                if (!connected) {
                    stream.expires_after(std::chrono::milliseconds(connect_timeout_ms));
                    co_await stream.async_connect(job->endpoints, use_awaitable);
                    connected = true;
                }
                co_await get_on(stream, buffer, *job, t, keep_alive);
                t.error = t.status >= 200 && t.status <= 299 ? "" : "GET " + t.url + ": HTTP " + std::to_string(t.status);
            } catch (const boost::system::system_error& e) {
                t.error = "GET " + t.url + ": " + e.code().message();
            }
            t.done = Clock::now();
            if (!t.error.empty() || !keep_alive) {   // start the next request on a new connection
                beast::error_code ignored;
                stream.socket().close(ignored);
                buffer.clear();
                connected = false;
            }
            if (t.status != 0) break;   // an answer (even a 404) is not retried
        }
        job->timeline->add_on("connection " + std::to_string(number), "GET key " + std::to_string(t.index), t.sent,
                              t.done);
    }
}

}  // namespace

void beast_section(course::Lesson& lesson, Settings& s) {
    lesson.section("5. The same window with Beast on Asio coroutines: " + std::to_string(s.limit) +
                   " connections, one thread");
    auto transfers = chunk_transfers(s.store);
    std::size_t n = transfers.size();
    HttpUrl url = parse_http_url(s.store.url);
    asio::io_context io(1);
    ConnectionTimeline timeline(12, 100);
    Job job;
    job.endpoints = tcp::resolver(io).resolve(url.host, std::to_string(url.port));   // once, before the clock
    job.host = url.host + ":" + std::to_string(url.port);
    job.path = url.path;
    job.keys.count = n;
    job.transfers = &transfers;
    job.timeline = &timeline;

    auto probe = s.probe();
    std::exception_ptr first_error;
    course::Stopwatch watch;
    for (std::size_t k = 1; k <= s.limit; ++k)
        asio::co_spawn(io, connection_worker(int(k), &job), [&](std::exception_ptr e) {
            if (e && !first_error) first_error = e;
        });
    io.run();   // returns when every coroutine has run out of keys
    double seconds = watch.seconds();
    if (first_error) std::rethrow_exception(first_error);
    auto counters = probe.read();
    assemble_and_verify(s.store, transfers, "section 5 (Beast coroutines)");

    course::ResultTable table("beast-coroutines");
    auto& row = table.add({.variant = "Beast: " + std::to_string(s.limit) + " coroutines, 1 thread", .n = n,
                           .seconds = seconds,
                           .bound_seconds = window_bound(n, s.limit, s.latency(), s.connect_cost()),
                           .bound = "n/lim*lat+conn", .workers = 1, .ok = true});
    if (counters.peak_in_flight) row.extra["peak_in_flight"] = *counters.peak_in_flight;
    if (counters.connections_opened) row.extra["connections_opened"] = *counters.connections_opened;
    if (s.figures.limit_window > 0) {
        auto& curl_row = table.add({.variant = "curl multi: fetch_all(urls, " + std::to_string(s.limit) + ")",
                                    .n = n, .seconds = s.figures.limit_window,
                                    .bound_seconds = s.figures.limit_window_bound, .bound = "n/lim*lat+conn",
                                    .workers = 1, .ok = true});
        curl_row.extra["source"] = "section 4";
    }
    lesson.report(table);
    std::printf("  server: peak_in_flight = %s, connections_opened = %s\n", show(counters.peak_in_flight).c_str(),
                show(counters.connections_opened).c_str());
    lesson.say("  The same shape as curl multi's window: a fixed set of connections, each refilled as its");
    lesson.say("  answer arrives. Here the window is the number of coroutines; with curl it is the refill loop.");
    lesson.say("  " + timeline.drawn() + ":");
    lesson.timeline(timeline.recorder(), "beast-coroutines");
}

}  // namespace lesson06
