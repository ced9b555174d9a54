// Section 9: HTTP/2 multiplexing. Over HTTP/1.1 a connection carries one request at a
// time, so concurrency costs connections (and each connection its connect cost). HTTP/2
// carries many requests at once on one connection, as streams: the connect cost is paid
// once and every chunk is still in flight at once.
//
// The course server speaks HTTP/1.1 only, so nghttpx (an HTTP/2 proxy) stands in front
// of it, in cleartext (h2c, "prior knowledge": no upgrade dance):
//
//   this lesson ══ ONE connection, 1,289 streams ══> nghttpx ──┬── connection ──> course server
//   (curl multi, CURLPIPE_MULTIPLEX)                           ├── connection ──>
//                                                              └── ...  (HTTP/1.1, one request each)
#include <cstdio>
#include <set>
#include <thread>

#include "parts.hpp"

namespace lesson06 {

using namespace std::chrono_literals;

void http2_section(course::Lesson& lesson, Settings& s) {
    lesson.section("9. HTTP/2: every chunk a stream on ONE connection (nghttpx in front of the server)");
    const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
    if (!(curl->features & CURL_VERSION_HTTP2)) {
        std::printf("  skipped: this libcurl (%s) was built without HTTP/2\n", curl->version);
        return;
    }
    std::string nghttpx = find_program("nghttpx");
    if (nghttpx.empty()) {
        lesson.say("  skipped: nghttpx is not installed (Debian and Ubuntu: apt install nghttp2-proxy)");
        return;
    }
    std::size_t n = s.store.chunks();
    HttpUrl backend = parse_http_url(s.store.url);
    int port = free_port();
    // --conf=/dev/null: none of the machine's nghttpx.conf. The proxy may hold as many
    // streams as we send (-c) and opens backend connections as it needs them. SIGQUIT
    // stops it gracefully: its main process waits for its worker process (SIGTERM would not).
    ChildProcess proxy({nghttpx, "--conf=/dev/null", "--workers=1", "--log-level=WARN",
                        "--backend=" + backend.host + "," + std::to_string(backend.port),
                        "--frontend=127.0.0.1," + std::to_string(port) + ";no-tls",
                        "--frontend-http2-max-concurrent-streams=" + std::to_string(n)},
                       SIGQUIT);
    if (!wait_until_listening(port, 5s, &proxy)) {
        std::printf("  skipped: nghttpx did not start listening on 127.0.0.1:%d within 5 s. It said:\n%s\n", port,
                    proxy.output().c_str());
        return;
    }
    std::printf("  %s listens on 127.0.0.1:%d (h2c), in front of %s:%d\n", nghttpx.c_str(), port, backend.host.c_str(),
                backend.port);

    Store store = s.store;
    store.url = "http://127.0.0.1:" + std::to_string(port) + backend.path;
    auto transfers = chunk_transfers(store);
    auto probe = s.probe();
    double proxy_cpu0 = process_tree_cpu_seconds(proxy.pid());
    double cpu0 = process_cpu_seconds(), client0 = thread_cpu_seconds(), queued0 = thread_run_queue_seconds();
    course::Stopwatch watch;
    run_multi(transfers, {.admission = Admission::all_at_once, .http2 = true});
    double seconds = watch.seconds();
    double process_cpu = process_cpu_seconds() - cpu0, client_cpu = thread_cpu_seconds() - client0;
    double client_queued = thread_run_queue_seconds() - queued0;
    double proxy_cpu = process_tree_cpu_seconds(proxy.pid()) - proxy_cpu0;
    auto counters = probe.read();
    proxy.stop();   // also done by its destructor if anything above throws
    assemble_and_verify(store, transfers, "section 9 (HTTP/2 through nghttpx)");

    std::set<int> client_ports;
    long client_connections = 0;
    std::size_t over_http2 = 0;
    ConnectionTimeline timeline;
    for (auto& t : transfers) {
        client_ports.insert(t.local_port);
        client_connections += t.new_connections;
        over_http2 += t.http_version == CURL_HTTP_VERSION_2_0;
        if (t.index < 12)   // one lane per stream: they all overlap on the one connection
            timeline.add_on("stream " + std::to_string(t.index + 1), "GET key " + std::to_string(t.index), t.sent, t.done);
    }
    if (over_http2 != n)
        throw std::runtime_error("section 9: only " + std::to_string(over_http2) + " of " + std::to_string(n) +
                                 " transfers went over HTTP/2");

    // The bound of section 3: connect + latency + the CPU this run used, spread over the
    // cores (the proxy's CPU included: it runs on the same cores), at least the client's.
    double cpu_part = cpu_floor(process_cpu + proxy_cpu, client_cpu);
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    course::ResultTable table("http2");
    auto& row = table.add({.variant = "HTTP/2, all streams on one connection", .n = n, .seconds = seconds,
                           .bound_seconds = s.connect_cost() + s.latency() + cpu_part, .bound = "conn+lat+CPU",
                           .workers = 1, .ok = true});
    row.extra["client_connections"] = client_connections;
    row.extra["proxy_cpu_seconds"] = proxy_cpu;
    if (counters.connections_opened) row.extra["server_connections_opened"] = *counters.connections_opened;
    if (s.figures.all_in_flight > 0) {
        auto& h1 = table.add({.variant = "HTTP/1.1, a connection per chunk (sec. 3)", .n = n,
                              .seconds = s.figures.all_in_flight, .bound_seconds = s.figures.all_in_flight_bound,
                              .bound = "conn+lat+CPU", .workers = 1, .ok = true});
        h1.extra["source"] = "section 3";
    }
    lesson.report(table);
    std::printf("  client: %ld connection opened, %zu distinct client port; all %zu transfers over HTTP/2\n",
                client_connections, client_ports.size(), over_http2);
    std::printf("  server: connections_opened = %s, peak_in_flight = %s: these are the proxy's connections\n"
                "  to the server now, not ours (nghttpx speaks HTTP/1.1 to it, one request per connection).\n",
                show(counters.connections_opened).c_str(), show(counters.peak_in_flight).c_str());
    double busy_cores = (process_cpu + proxy_cpu) / seconds;
    std::printf("  CPU: nghttpx %s, this process %s (the client's thread %s) in %s wall:\n"
                "  %.2f of the %u cores busy on average. The proxy is a third party on the same cores (the\n"
                "  bound counts its CPU too); the client's thread waited %s for a core.%s\n",
                human(proxy_cpu).c_str(), human(process_cpu).c_str(), human(client_cpu).c_str(),
                human(seconds).c_str(), busy_cores, cores, human(client_queued).c_str(),
                busy_cores > 0.6 * cores ? "\n  CPU, not connections, is the limit here." : "");
    lesson.say("  the first 12 streams, all on the one client connection:");
    lesson.timeline(timeline.recorder(), "http2");
}

}  // namespace lesson06
