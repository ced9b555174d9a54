// Sections 3 and 4: libcurl's multi interface. One thread drives many transfers: it adds
// easy handles to a multi handle, calls curl_multi_perform to move every one of them as
// far as it can go without waiting, reads the finished ones from curl_multi_info_read,
// and sleeps in curl_multi_poll until a socket is ready (run_multi in tools.cpp):
//
//   one thread:  perform ─ info_read ─ admit ─ poll ─ perform ─ info_read ─ admit ─ poll ...
//                   │                    │
//                   │ moves every        └ adds the next transfers: all at once (section 3),
//                   │ transfer a step      or only while fewer than `limit` run (section 4)
//
// Section 3 adds all 1,289 at once: aiohttp's asyncio.gather of the original material. Section
// 4 limits them to 10 (the original material's proposal) and 64, in the two ways curl allows.
#include <algorithm>
#include <cstdio>
#include <thread>

#include "http.hpp"   // the topic's API: course::http::fetch_all
#include "parts.hpp"

namespace lesson06 {

void all_in_flight_section(course::Lesson& lesson, Settings& s) {
    lesson.section("3. libcurl multi, every chunk in flight at once, on one thread");
    auto transfers = chunk_transfers(s.store);
    std::size_t n = transfers.size();
    auto probe = s.probe();
    double cpu0 = process_cpu_seconds(), client0 = thread_cpu_seconds();
    double queued0 = process_run_queue_seconds(), client_queued0 = thread_run_queue_seconds();
    course::Stopwatch watch;
    run_multi(transfers, {.admission = Admission::all_at_once});
    double seconds = watch.seconds();
    double process_cpu = process_cpu_seconds() - cpu0, client_cpu = thread_cpu_seconds() - client0;
    // Time runnable but without a core: the client, the server's threads and whatever else
    // runs on this machine share its cores.
    double queued = process_run_queue_seconds() - queued0, client_queued = thread_run_queue_seconds() - client_queued0;
    auto counters = probe.read();
    assemble_and_verify(s.store, transfers, "section 3 (curl multi, all in flight)");

    // The bound: connect + latency if the machine were infinitely fast. It is not: every
    // connection and every request costs CPU at both ends, and both ends share this
    // machine's cores (the built-in server runs in this process). So the bound adds the CPU
    // this run used, spread over the cores, but no less than the client thread's share.
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    double cpu_part = cpu_floor(process_cpu, client_cpu);
    double bound = s.connect_cost() + s.latency() + cpu_part;

    // When the requests went out and when the answers came in, from the start.
    auto first_sent = Clock::time_point::max(), last_sent = Clock::time_point::min();
    auto first_done = Clock::time_point::max(), last_done = Clock::time_point::min();
    for (auto& t : transfers) {
        first_sent = std::min(first_sent, t.sent), last_sent = std::max(last_sent, t.sent);
        first_done = std::min(first_done, t.done), last_done = std::max(last_done, t.done);
    }
    auto at = [&](Clock::time_point t) { return human(seconds_between(watch.started(), t)); };

    course::ResultTable table("all-in-flight");
    auto& row = table.add({.variant = "curl multi, all added at once", .n = n, .seconds = seconds,
                           .bound_seconds = bound, .bound = "conn+lat+CPU", .workers = 1, .ok = true});
    row.extra["process_cpu_seconds"] = process_cpu;
    row.extra["client_thread_cpu_seconds"] = client_cpu;
    row.extra["client_thread_run_queue_seconds"] = client_queued;
    if (counters.peak_in_flight) row.extra["peak_in_flight"] = *counters.peak_in_flight;
    if (counters.connections_opened) row.extra["connections_opened"] = *counters.connections_opened;
    lesson.report(table);
    std::printf("  server: connections_opened = %s, peak_in_flight = %s of %zu\n",
                show(counters.connections_opened).c_str(), show(counters.peak_in_flight).c_str(), n);
    std::printf("  requests sent from %s to %s after the start; answers in from %s to %s.\n", at(first_sent).c_str(),
                at(last_sent).c_str(), at(first_done).c_str(), at(last_done).c_str());
    std::printf("  CPU of this run: the client's thread %s (%.0f %% of the wall), the whole process %s\n"
                "  (%s): %.2f of the %u cores busy on average. Per chunk %s, against\n"
                "  %s one after another in section 1: running them together saves wake-ups.\n",
                human(client_cpu).c_str(), 100 * client_cpu / seconds, human(process_cpu).c_str(),
                s.server ? ("the server's threads " + human(std::max(0.0, process_cpu - client_cpu))).c_str()
                         : "the server is another process",
                process_cpu / seconds, cores, human(process_cpu / double(n)).c_str(),
                human(s.figures.cpu_new_connection).c_str());
    std::printf("  the bound: connect %s + latency %s + that CPU spread over %u cores, at least the client's\n"
                "  (%s). An estimate: part of the CPU can overlap the waits, so a small run may beat it.\n",
                human(s.connect_cost()).c_str(), human(s.latency()).c_str(), cores, human(cpu_part).c_str());
    if (!s.server) lesson.say("  (with --url the server's CPU is not in this process: the bound counts the client's)");
    std::printf("  Waiting for a core (runnable, not running): the client's thread %s, all threads of this\n"
                "  process %s.\n",
                human(client_queued).c_str(), human(queued).c_str());
    // A thread is occupied while it runs or waits for a core; the rest of the time it waits
    // for the other end.
    double client_occupied = (client_cpu + client_queued) / seconds;
    std::printf("  What limits it: not the network (loopback), not the server's waits (they all overlap).\n");
    if (client_occupied > 0.6)
        std::printf("  The client's one thread: it ran or waited for a core %.0f %% of the run. It opens %zu\n"
                    "  connections, sends %zu requests and reads %zu answers one after another; the first\n"
                    "  curl_multi_perform starts every connection before any request goes out, so the first\n"
                    "  request left at %s. The bound credits the thread's CPU, not its wait for a core\n"
                    "  while the server's threads had them.\n",
                    100 * client_occupied, n, n, n, at(first_sent).c_str());
    else if (process_cpu / seconds > 0.75 * cores)
        lesson.say("  Both cores are busy most of the run: it is CPU-bound, client and server on the same cores.");
    else
        std::printf("  The client's thread ran or waited for a core only %.0f %% of the run and the cores were\n"
                    "  not full: the rest is each end waiting for the other.\n",
                    100 * client_occupied);
    ConnectionTimeline timeline(12);
    for (auto& t : transfers) timeline.add(t);
    lesson.say("  the first 12 connections (" + timeline.drawn() + "):");
    lesson.timeline(timeline.recorder(), "all-in-flight");
    s.figures.all_in_flight = seconds;
    s.figures.all_in_flight_bound = bound;
}

namespace {

// The array from fetch_all's results (one per URL, in the order of the URLs).
void verify_results(const Store& store, const std::vector<course::http::Result>& results, const std::string& variant) {
    if (results.size() != store.chunks())
        throw std::runtime_error(variant + ": " + std::to_string(results.size()) + " results for " +
                                 std::to_string(store.chunks()) + " URLs");
    std::vector<double> array(store.values);
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (!results[i].ok()) throw std::runtime_error(variant + ": chunk " + std::to_string(i) + ": " + results[i].error);
        decode_chunk(store, i, results[i].body, array);
    }
    verify_arange(array, store.values, variant);
}

}  // namespace

void limits_section(course::Lesson& lesson, Settings& s) {
    lesson.section("4. A limit of " + std::to_string(s.limit) + " and of 64: capping connections vs capping transfers");
    std::vector<std::size_t> limits{s.limit};
    if (s.limit != 64) limits.push_back(64);
    std::size_t n = s.store.chunks();
    course::ResultTable table("limits");
    std::optional<ConnectionTimeline> timeline;
    struct Seen {
        std::string variant;
        Counters counters;
        double client_cpu = 0;    // CPU of this (the calling) thread during the run
        double process_cpu = 0;   // of the whole process (client, server, any helper thread)
    };
    std::vector<Seen> seen;
    std::size_t out_of_order = 0;   // of the first 100 transfers curl started, keys >= 100

    // One row of the table (with the server's counters) and one line of CPU figures.
    auto record = [&](const std::string& variant, double seconds, double bound, const Counters& counters,
                      double client_cpu, double process_cpu) {
        auto& row = table.add({.variant = variant, .n = n, .seconds = seconds, .bound_seconds = bound,
                               .bound = "n/lim*lat+conn", .workers = 1, .ok = true});
        if (counters.peak_in_flight) row.extra["peak_in_flight"] = *counters.peak_in_flight;
        if (counters.connections_opened) row.extra["connections_opened"] = *counters.connections_opened;
        seen.push_back({variant, counters, client_cpu, process_cpu});
    };

    for (std::size_t limit : limits) {
        double bound = window_bound(n, limit, s.latency(), s.connect_cost());
        std::string variant = "MAX_TOTAL_CONNECTIONS=" + std::to_string(limit) + ", all added";
        {
            // Every transfer is added at once; curl opens at most `limit` connections and
            // keeps the other transfers in its own queue until a connection is free.
            auto transfers = chunk_transfers(s.store);
            auto probe = s.probe();
            double cpu0 = thread_cpu_seconds(), process0 = process_cpu_seconds();
            course::Stopwatch watch;
            run_multi(transfers, {.admission = Admission::all_at_once,
                                  .max_total_connections = long(limit)});
            double seconds = watch.seconds();
            double client_cpu = thread_cpu_seconds() - cpu0, process_cpu = process_cpu_seconds() - process0;
            auto counters = probe.read();
            assemble_and_verify(s.store, transfers, "section 4 (" + variant + ")");
            record(variant, seconds, bound, counters, client_cpu, process_cpu);
            if (!timeline) {
                // In the order curl started them, which is not the order they were added.
                std::vector<const Transfer*> by_start;
                for (auto& t : transfers) by_start.push_back(&t);
                std::sort(by_start.begin(), by_start.end(), [](auto* a, auto* b) { return a->sent < b->sent; });
                timeline.emplace(12, 100);
                for (auto* t : by_start) timeline->add(*t);
                std::size_t first = std::min<std::size_t>(100, n);
                out_of_order = std::size_t(std::count_if(by_start.begin(), by_start.begin() + std::ptrdiff_t(first),
                                                         [&](auto* t) { return t->index >= first; }));
            }
        }
        {
            // The topic's fetch_all: its own refill loop adds a transfer only when one has
            // completed, so curl never holds more than `limit`.
            variant = "fetch_all(urls, " + std::to_string(limit) + "): refill loop";
            auto probe = s.probe();
            double cpu0 = thread_cpu_seconds(), process0 = process_cpu_seconds();
            course::Stopwatch watch;
            auto results = course::http::fetch_all(s.store.chunk_urls(), limit);
            double seconds = watch.seconds();
            double client_cpu = thread_cpu_seconds() - cpu0, process_cpu = process_cpu_seconds() - process0;
            auto counters = probe.read();
            verify_results(s.store, results, "section 4 (" + variant + ")");
            record(variant, seconds, bound, counters, client_cpu, process_cpu);
            if (limit == s.limit) {
                s.figures.limit_window = seconds;
                s.figures.limit_window_bound = bound;
            }
        }
    }
    lesson.report(table);
    lesson.say("  server's counters, and the CPU each run used (the calling thread's; the whole process's):");
    for (auto& [variant, counters, client_cpu, process_cpu] : seen)
        std::printf("  %-40s peak_in_flight %3s, connections_opened %3s; CPU %8s, %8s\n", variant.c_str(),
                    show(counters.peak_in_flight).c_str(), show(counters.connections_opened).c_str(),
                    human(client_cpu).c_str(), human(process_cpu).c_str());
    lesson.say("  CURLMOPT_MAX_TOTAL_CONNECTIONS caps connections: all transfers are added at once and curl");
    lesson.say("  queues those that have no connection yet (their CURLOPT_TIMEOUT_MS counts the time queued).");
    lesson.say("  A refill loop caps transfers in flight: it adds the next only when one completes, so curl");
    lesson.say("  never holds more than the limit. Over HTTP/1.1 a connection carries one request at a time,");
    lesson.say("  so both keep peak_in_flight <= the limit; the connect cost is paid once per connection.");
    lesson.say("  The queue inside curl is not free: with every transfer added, each curl_multi_perform and");
    lesson.say("  curl_multi_poll call goes over all of them, the queued ones too: more CPU (above) than a");
    lesson.say("  refill loop, which never hands curl more than it can run.");
    // At the largest limit the CPU of each round starts to count against its latency.
    const Seen& widest = seen.back();
    double per_request = widest.process_cpu / double(n);
    std::printf("  At %zu in flight, the CPU counts: %s of CPU per request (both ends) is %s per round of\n"
                "  %zu requests, against a round's latency of %s, on %u cores shared by client and server.\n",
                limits.back(), human(per_request).c_str(), human(per_request * double(limits.back())).c_str(),
                limits.back(), human(s.latency()).c_str(), std::max(1u, std::thread::hardware_concurrency()));
    if (out_of_order > 0)
        std::printf("  Nor does curl's queue keep the order: of the first %zu transfers it started with\n"
                    "  MAX_TOTAL_CONNECTIONS=%zu, %zu had keys beyond the first %zu. A refill loop starts them in\n"
                    "  the order it is given (for zarr: the order of the array).\n",
                    std::min<std::size_t>(100, n), s.limit, out_of_order, std::min<std::size_t>(100, n));
    lesson.say("  MAX_TOTAL_CONNECTIONS=" + std::to_string(s.limit) + ", the first 100 transfers curl started (" +
               timeline->drawn() + "):");
    lesson.timeline(timeline->recorder(), "limits");
}

}  // namespace lesson06
