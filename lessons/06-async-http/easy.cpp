// Sections 1 and 2: libcurl's easy interface, one blocking GET after another. First a new
// handle per chunk, so every GET opens (and pays for) a new connection: the original
// material's 342 s, where fsspec made a new connection pool per chunk. Then one handle kept
// for every chunk, so its connection is kept alive and reused: requests.Session's 98 s.
//
//   new handle per chunk:  conn 1 |c r|
//                          conn 2      |c r|
//                          conn 3           |c r|  ...       n × (connect + latency)
//   one handle:            conn 1 |c r|r|r|r|r|r|r|r|r| ...  connect + n × latency
#include <cstdio>

#include "parts.hpp"

namespace lesson06 {

namespace {

// What one sequential run measured: wall time, and CPU of the process and of this thread.
struct SequentialRun {
    double seconds = 0, process_cpu = 0, client_cpu = 0;
    long client_connections = 0;
};

// The CPU line both sections print: CPU per chunk, the client's thread and the process.
void print_cpu(const SequentialRun& run, std::size_t n, bool server_inside) {
    std::printf("  CPU per chunk: %s in this (the client's) thread, %s in the whole process%s\n",
                human(run.client_cpu / double(n)).c_str(), human(run.process_cpu / double(n)).c_str(),
                server_inside ? "\n  (the built-in server runs in it too)" : "");
}

}  // namespace

void new_connection_each_section(course::Lesson& lesson, Settings& s) {
    lesson.section("1. libcurl easy, a new handle per chunk: a new connection every time");
    auto transfers = chunk_transfers(s.store);
    std::size_t n = transfers.size();
    // The first 12 requests only: after a few hundred connections the kernel hands out
    // client ports again, and a port no longer names one connection.
    ConnectionTimeline timeline(12, 12);
    auto probe = s.probe();
    SequentialRun run;
    double cpu0 = process_cpu_seconds(), client0 = thread_cpu_seconds();
    course::Stopwatch watch;
    for (auto& t : transfers) {
        CURL* easy = new_easy(t);                  // a fresh handle has no connection to reuse
        CURLcode code = curl_easy_perform(easy);   // blocks: connect, send, wait, read
        finish_transfer(easy, code, t);
        curl_easy_cleanup(easy);                   // and its connection is closed with it
        timeline.add(t);
        run.client_connections += t.new_connections;
    }
    run.seconds = watch.seconds();
    run.process_cpu = process_cpu_seconds() - cpu0;
    run.client_cpu = thread_cpu_seconds() - client0;
    auto counters = probe.read();
    assemble_and_verify(s.store, transfers, "section 1 (a new handle per chunk)");

    course::ResultTable table("new-connection-each");
    auto& row = table.add({.variant = "curl easy, a new handle per chunk", .n = n, .seconds = run.seconds,
                           .bound_seconds = double(n) * (s.latency() + s.connect_cost()),
                           .bound = "n*(lat+conn)", .workers = 1, .ok = true});
    row.extra["client_connections"] = run.client_connections;
    if (counters.connections_opened) row.extra["connections_opened"] = *counters.connections_opened;
    lesson.report(table);
    std::printf("  the array: %zu values, exactly 0 .. %zu\n", s.store.values, s.store.values - 1);
    std::printf("  server: connections_opened = %s, requests_served = %s (the client opened %ld)\n",
                show(counters.connections_opened).c_str(), show(counters.requests_served).c_str(),
                run.client_connections);
    print_cpu(run, n, bool(s.server));
    lesson.say("  the first 12 requests, each on a connection of its own, one after another:");
    lesson.timeline(timeline.recorder(), "new-connection-each");

    s.figures.new_connection_each = run.seconds;
    s.figures.cpu_new_connection = run.process_cpu / double(n);
    s.figures.client_cpu_new_connection = run.client_cpu / double(n);
}

void one_connection_section(course::Lesson& lesson, Settings& s) {
    lesson.section("2. libcurl easy, one handle for every chunk: one kept-alive connection");
    auto transfers = chunk_transfers(s.store);
    std::size_t n = transfers.size();
    ConnectionTimeline timeline(1, 40);
    auto probe = s.probe();
    SequentialRun run;
    double cpu0 = process_cpu_seconds(), client0 = thread_cpu_seconds();
    course::Stopwatch watch;
    // The handle keeps its connection open after a transfer (HTTP/1.1 keep-alive) and the
    // next transfer on the same handle to the same host reuses it.
    CURL* easy = new_easy(transfers[0]);
    for (auto& t : transfers) {
        if (&t != &transfers[0]) aim_easy(easy, t);
        CURLcode code = curl_easy_perform(easy);
        finish_transfer(easy, code, t);
        timeline.add(t);
        run.client_connections += t.new_connections;
    }
    curl_easy_cleanup(easy);
    run.seconds = watch.seconds();
    run.process_cpu = process_cpu_seconds() - cpu0;
    run.client_cpu = thread_cpu_seconds() - client0;
    auto counters = probe.read();
    assemble_and_verify(s.store, transfers, "section 2 (one reused handle)");

    course::ResultTable table("one-connection");
    auto& row = table.add({.variant = "curl easy, one reused handle", .n = n, .seconds = run.seconds,
                           .bound_seconds = s.connect_cost() + double(n) * s.latency(), .bound = "conn+n*lat",
                           .workers = 1, .ok = true});
    row.extra["client_connections"] = run.client_connections;
    if (counters.connections_opened) row.extra["connections_opened"] = *counters.connections_opened;
    lesson.report(table);
    std::printf("  server: connections_opened = %s, requests_served = %s\n", show(counters.connections_opened).c_str(),
                show(counters.requests_served).c_str());
    print_cpu(run, n, bool(s.server));
    std::printf("  %.1fx faster than section 1: the connect cost is paid once instead of %zu times.\n",
                s.figures.new_connection_each / run.seconds, n);
    lesson.say("  the first 40 requests (the first one also pays the connect cost):");
    lesson.timeline(timeline.recorder(), "one-connection");

    s.figures.one_connection = run.seconds;
    s.figures.cpu_kept_connection = run.process_cpu / double(n);
    s.figures.client_cpu_kept_connection = run.client_cpu / double(n);
}

}  // namespace lesson06
