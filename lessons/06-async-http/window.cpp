// Section 8: waves vs a sliding window, when a few requests are slow. Most answers take
// `latency`; every 50th takes 200 ms (a cold object, a busy disk). Waves: start `limit`,
// wait for all of them, start the next `limit` (asyncio.gather per batch: what fsspec did
// until 2024). Each wave lasts as long as its slowest request, and the other slots sit idle
// meanwhile. A window starts the next request as soon as any slot frees.
//
//   waves:   slot 1 |4|          |4|4|            every wave waits for its slowest
//            slot 2 |200 ms....| |4|4|   ...
//            slot 3 |4|          |4|4|
//   window:  slot 1 |4|4|4|4|4|4|4|4|4|4| ...     the slow one holds one slot; the
//            slot 2 |200 ms....|4|4|4|4| ...      others keep going
//            slot 3 |4|4|4|4|4|4|4|4|4|4| ...
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "http.hpp"   // the topic's API: course::http::fetch_all
#include "parts.hpp"

namespace lesson06 {

namespace {

constexpr int slow_ms = 200;
constexpr std::size_t slow_every = 50;

// /delay/{ms} answers {"delay_ms": ms, ...}: check each answer is the one asked for.
void verify_delays(const std::vector<int>& delays, const std::vector<std::string>& bodies, const std::string& variant) {
    for (std::size_t i = 0; i < delays.size(); ++i) {
        int got = -1;
        try {
            got = nlohmann::json::parse(bodies[i]).at("delay_ms").get<int>();
        } catch (const std::exception&) {
        }
        if (got != delays[i])
            throw std::runtime_error(variant + ": request " + std::to_string(i) + " asked for /delay/" +
                                     std::to_string(delays[i]) + " and got \"" + bodies[i].substr(0, 60) + "\"");
    }
}

}  // namespace

void waves_section(course::Lesson& lesson, Settings& s) {
    lesson.section("8. Waves vs a sliding window, with a few slow requests");
    // A server of its own (also with --url): no latency of its own, so each request's
    // /delay/{ms} is all of its time; the same connect cost.
    course::ServerOptions options;
    options.connect_cost = std::chrono::milliseconds(s.connect_cost_ms);
    course::LocalServer server(options);
    std::size_t n = s.store.chunks(), limit = s.limit;
    int fast_ms = std::max(1, s.latency_ms);
    std::vector<int> delays(n);
    std::vector<std::string> urls(n);
    for (std::size_t i = 0; i < n; ++i) {
        delays[i] = i % slow_every == 0 ? slow_ms : fast_ms;
        urls[i] = server.url() + "/delay/" + std::to_string(delays[i]);
    }

    // The bounds. Waves: each batch lasts its slowest request. Window: the work spread over
    // `limit` slots, but never less than the longest single request.
    double waves_bound = s.connect_cost(), total = 0, longest = 0;
    for (std::size_t start = 0; start < n; start += limit) {
        int batch_max = *std::max_element(delays.begin() + std::ptrdiff_t(start),
                                          delays.begin() + std::ptrdiff_t(std::min(n, start + limit)));
        waves_bound += batch_max / 1000.0;
    }
    for (int d : delays) {
        total += d / 1000.0;
        longest = std::max(longest, d / 1000.0);
    }
    double window_bound_s = s.connect_cost() + std::max(total / double(limit), longest);
    // What a perfect window does with these delays in this order: each request takes the
    // slot that frees first (the first on each slot also pays the connect cost).
    std::vector<double> slot_free(limit, 0.0);
    double perfect_window = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto slot = std::min_element(slot_free.begin(), slot_free.end());
        *slot += delays[i] / 1000.0 + (i < limit ? s.connect_cost() : 0.0);
        perfect_window = std::max(perfect_window, *slot);
    }

    course::ResultTable table("waves-vs-window");
    auto run = [&](Admission admission, const std::string& variant, double bound, const std::string& bound_is,
                   ConnectionTimeline& timeline) {
        std::vector<Transfer> transfers(n);
        for (std::size_t i = 0; i < n; ++i) transfers[i] = Transfer{.index = i, .url = urls[i]};
        CounterProbe probe(server);
        course::Stopwatch watch;
        run_multi(transfers, {.admission = admission, .limit = limit});
        double seconds = watch.seconds();
        auto counters = probe.read();
        std::vector<std::string> bodies;
        for (auto& t : transfers) {
            if (!t.ok()) throw std::runtime_error("section 8 (" + variant + "): " + t.error);
            bodies.push_back(t.body);
            timeline.add(t);
        }
        verify_delays(delays, bodies, "section 8 (" + variant + ")");
        auto& row = table.add({.variant = variant, .n = n, .seconds = seconds, .bound_seconds = bound,
                               .bound = bound_is, .workers = 1, .ok = true});
        row.extra["peak_in_flight"] = *counters.peak_in_flight;
        return seconds;
    };
    ConnectionTimeline waves_timeline(12, 100), window_timeline(12, 100);
    std::string lim = std::to_string(limit);
    double waves = run(Admission::waves, "waves of " + lim + " (gather per batch)", waves_bound, "sum of maxes",
                       waves_timeline);
    double window = run(Admission::window, "sliding window of " + lim, window_bound_s, "conn+work/lim",
                        window_timeline);
    // The topic's fetch_all is a sliding window too.
    {
        CounterProbe probe(server);
        course::Stopwatch watch;
        auto results = course::http::fetch_all(urls, limit);
        double seconds = watch.seconds();
        std::vector<std::string> bodies;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (!results[i].ok()) throw std::runtime_error("section 8 (fetch_all): " + results[i].error);
            bodies.push_back(results[i].body);
        }
        verify_delays(delays, bodies, "section 8 (fetch_all)");
        auto& row = table.add({.variant = "fetch_all(urls, " + lim + ")", .n = n, .seconds = seconds,
                               .bound_seconds = window_bound_s, .bound = "conn+work/lim", .workers = 1, .ok = true});
        row.extra["peak_in_flight"] = *probe.read().peak_in_flight;
    }
    lesson.report(table);
    std::printf("  %zu requests: %zu take %d ms, the others %d ms; waves %.1fx slower than the window.\n", n,
                (n + slow_every - 1) / slow_every, slow_ms, fast_ms, waves / window);
    std::printf("  waves: %zu batches, each as long as its slowest; the window's bound is the work over %zu slots\n"
                "  (%s) or the longest request, whichever is larger.\n",
                (n + limit - 1) / limit, limit, human(total / double(limit)).c_str());
    std::printf("  A perfect window with these delays in this order takes %s, %s more than an even spread:\n"
                "  the last slow request (key %zu) starts late. No window avoids that without knowing the delays.\n"
                "  Measured against that perfect window, ours reaches %.0f %%.\n",
                human(perfect_window).c_str(),
                human(perfect_window - (s.connect_cost() + total / double(limit))).c_str(),
                (n - 1) / slow_every * slow_every, 100 * perfect_window / window);
    lesson.say("  waves (" + waves_timeline.drawn() + "):");
    lesson.timeline(waves_timeline.recorder(), "waves");
    lesson.say("  sliding window (" + window_timeline.drawn() + "):");
    lesson.timeline(window_timeline.recorder(), "window");
}

}  // namespace lesson06
