// Section 7: failures. A server that answers 503 to 5 % of requests (a busy object store
// does: S3 says "SlowDown"). The reader retries a 503, or a transfer that got no answer,
// with exponential backoff and jitter, at most `attempts` tries, and waits at least as long
// as the server's Retry-After says. A transfer waiting out its backoff holds no slot: the
// window keeps the other transfers going meanwhile.
//
//   slot 1   | GET 7 -> 503 | GET 10 | GET 12 | GET 7 again | ...   a 503 frees its slot at
//   slot 2   | GET 8 | GET 9 | GET 11 | GET 13 | GET 14 | ...        once; key 7 waits out its
//   key 7:                   (waiting 10..20 ms)   ready             backoff out of line, then
//                                                                    takes the first free slot
//
//   wait before try k+1 = min(max_delay, base × 2^(k-1)) × a random factor in [0.5, 1)
//   (the jitter keeps many clients that failed together from retrying together)
#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <random>

#include "http.hpp"   // the topic's API: course::http::fetch_with_retry
#include "parts.hpp"

namespace lesson06 {

using namespace std::chrono_literals;

namespace {

struct Backoff {
    int attempts = 6;                        // tries in all, the first one included
    std::chrono::milliseconds base{20};      // the wait before the 2nd try; doubles after
    std::chrono::milliseconds max{1000};     // no wait longer than this (Retry-After aside)
};

struct RetryRun {
    double seconds = 0;
    std::size_t retries = 0;                 // tries beyond the first, over all keys
    std::size_t repeated = 0;                // of which a key's third try or later
    double waited = 0;                       // backoff time summed over the retried keys
    std::size_t retry_after_honoured = 0;    // waits stretched to the server's Retry-After
    double tail = 0;   // from the moment every key had been tried once to the end
};

// A window of `limit` transfers, each key retried after a 503 or no answer. Throws naming
// the key when it fails `attempts` times, or answers anything else that is not 2xx.
RetryRun read_with_retries(std::vector<Transfer>& transfers, std::size_t limit, const Backoff& backoff,
                           ConnectionTimeline* timeline) {
    Multi multi;
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, long(limit));   // keep the window's connections
    std::mt19937 random(2020);   // fixed seed: the same jitter every run
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    std::deque<std::size_t> ready;                        // keys to start, in order
    std::multimap<Clock::time_point, std::size_t> later;  // keys waiting out their backoff
    for (std::size_t i = 0; i < transfers.size(); ++i) ready.push_back(i);
    RetryRun run;
    std::size_t finished = 0, tried_once = 0;
    Clock::time_point all_tried_once{};
    // Keys whose wait is over go to the front of the line, then free slots are filled.
    auto admit = [&] {
        for (auto now = Clock::now(); !later.empty() && later.begin()->first <= now; later.erase(later.begin()))
            ready.push_front(later.begin()->second);
        while (multi.running() < limit && !ready.empty()) {
            multi.add(new_easy(transfers[ready.front()]));
            ready.pop_front();
        }
    };
    course::Stopwatch watch;
    admit();
    while (finished < transfers.size()) {
        int still_running = 0;
        curl_multi_perform(multi.get(), &still_running);
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
            if (message->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &t);
            finish_transfer(message->easy_handle, message->data.result, *t);
            multi.remove_and_cleanup(message->easy_handle);
            if (timeline) timeline->add(*t);
            if (t->attempts == 1 && ++tried_once == transfers.size()) all_tried_once = t->done;
            if (t->ok()) {
                ++finished;
                continue;
            }
            bool retryable = t->status == 503 || t->status == 0;
            if (!retryable || t->attempts >= backoff.attempts)
                throw std::runtime_error("section 7: chunk " + std::to_string(t->index) + " failed after " +
                                         std::to_string(t->attempts) + " tries: " + t->error);
            auto exponential = std::min<std::chrono::milliseconds>(backoff.max, backoff.base * (1 << (t->attempts - 1)));
            auto wait = std::chrono::duration<double, std::milli>(exponential * jitter(random));
            if (t->retry_after > 0 && wait < std::chrono::seconds(t->retry_after)) {
                wait = std::chrono::seconds(t->retry_after);   // the server knows when it will be ready
                ++run.retry_after_honoured;
            }
            later.emplace(Clock::now() + std::chrono::duration_cast<Clock::duration>(wait), t->index);
            run.waited += wait.count() / 1000;
            ++run.retries;
            if (t->attempts >= 2) ++run.repeated;
        }
        admit();
        // Sleep until a socket is ready, curl's next timeout, or the next key's wait is over.
        long timeout_ms = 100;
        if (!later.empty()) {
            auto until_due = std::chrono::ceil<std::chrono::milliseconds>(later.begin()->first - Clock::now());
            timeout_ms = std::clamp<long>(long(until_due.count()), 0, 100);
        }
        if (finished < transfers.size()) curl_multi_poll(multi.get(), nullptr, 0, int(timeout_ms), nullptr);
    }
    run.seconds = watch.seconds();
    run.tail = seconds_between(all_tried_once, Clock::now());
    return run;
}

}  // namespace

void failures_section(course::Lesson& lesson, Settings& s) {
    lesson.section("7. Failures: 5 % of requests answer 503; retries with backoff and jitter");
    // Two built-in servers alike but for the failures (also with --url: this section needs a
    // server whose failure rate it sets).
    auto options = s.server_options();
    course::LocalServer healthy(options);
    options.failure_rate = 0.05;
    course::LocalServer failing(options);
    auto store_on = [&](course::LocalServer& server) {
        Store store = s.store;
        auto name = store.url.substr(store.url.rfind('/') + 1);
        store.url = server.url() + "/files/" + name;
        return store;
    };
    Backoff backoff;
    std::size_t n = s.store.chunks();

    // Without failures: the time to compare with.
    Store healthy_store = store_on(healthy);
    auto baseline_transfers = chunk_transfers(healthy_store);
    CounterProbe baseline_probe(healthy);
    auto baseline = read_with_retries(baseline_transfers, s.limit, backoff, nullptr);
    auto baseline_counters = baseline_probe.read();
    assemble_and_verify(healthy_store, baseline_transfers, "section 7 (no failures)");

    // With 5 % failures.
    Store failing_store = store_on(failing);
    auto transfers = chunk_transfers(failing_store);
    ConnectionTimeline timeline(std::min<std::size_t>(s.limit, 12), 100);
    CounterProbe probe(failing);
    auto run = read_with_retries(transfers, s.limit, backoff, &timeline);
    auto counters = probe.read();
    assemble_and_verify(failing_store, transfers, "section 7 (5 % failures, retried)");

    course::ResultTable table("failures");
    double bound = window_bound(n, s.limit, s.latency(), s.connect_cost());
    auto& b = table.add({.variant = "window of " + std::to_string(s.limit) + ", no failures", .n = n,
                         .seconds = baseline.seconds, .bound_seconds = bound, .bound = "n/lim*lat+conn",
                         .workers = 1, .ok = true});
    b.extra["requests_failed"] = baseline_counters.requests_failed.value_or(0);
    // With failures every retry is one more request: the bound counts them as requests.
    std::size_t requests = n + run.retries;
    auto& f = table.add({.variant = "window of " + std::to_string(s.limit) + ", 5 % answer 503, retried",
                         .n = n, .seconds = run.seconds,
                         .bound_seconds = window_bound(requests, s.limit, s.latency(), s.connect_cost()),
                         .bound = "req/lim*lat+c", .workers = 1, .ok = true});
    f.extra["retries"] = run.retries;
    f.extra["requests_failed"] = counters.requests_failed.value_or(0);
    f.extra["requests_served"] = counters.requests_served.value_or(0);

    // Retry-After: a key the server fails once, asking for 1 s. The wait must be >= 1 s
    // although the backoff alone would have waited ~20 ms.
    std::vector<Transfer> flaky(1);
    flaky[0].url = failing.url() + "/flaky/retry-after?fail=1&retry_after=1";
    auto honoured = read_with_retries(flaky, 1, backoff, nullptr);
    table.add({.variant = "one key, 503 with Retry-After: 1", .n = 1, .seconds = honoured.seconds,
               .bound_seconds = s.connect_cost() + 2 * s.latency() + 1.0, .bound = "conn+2lat+1s",
               .workers = 1,
               .ok = honoured.retry_after_honoured == 1 && flaky[0].ok()});
    lesson.report(table);

    std::printf("  failures: the server answered 503 to %s of %s requests; the reader retried %zu times\n"
                "  (%zu of them a key's third try or later), waited %s of backoff in all; the array is exact.\n",
                show(counters.requests_failed).c_str(), show(counters.requests_served).c_str(), run.retries,
                run.repeated, human(run.waited).c_str());
    std::printf("  they cost %s (%+.0f %%) against the run without failures. While other keys remain, a key\n"
                "  waiting out its backoff holds no slot: a failure costs one more request, not a stall. The\n"
                "  cost is the tail: %s from the moment every key had been tried once to the end, the last\n"
                "  retried keys waiting with nothing else left to do (without failures: %s).\n",
                human(run.seconds - baseline.seconds).c_str(), 100 * (run.seconds / baseline.seconds - 1),
                human(run.tail).c_str(), human(baseline.tail).c_str());
    std::printf("  Retry-After: 1 made the reader wait %s before its second try (the backoff alone: %d ms).\n",
                human(honoured.waited).c_str(), int(backoff.base.count()));

    // The topic's fetch_with_retry does the same for one URL, blocking. Its waits go to a
    // recorder here instead of sleeping, so they can be printed.
    std::vector<std::chrono::milliseconds> waits;
    course::http::RetryPolicy policy{.attempts = 5, .base_delay = 100ms, .max_delay = 2000ms,
                                     .sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); }};
    auto answer = course::http::fetch_with_retry(healthy.url() + "/flaky/demo?fail=3&retry_after=none", policy);
    std::printf("  course::http::fetch_with_retry on /flaky/demo?fail=3: HTTP %d after %zu waits (", answer.status,
                waits.size());
    for (std::size_t i = 0; i < waits.size(); ++i) std::printf("%s%lld ms", i ? ", " : "", (long long)waits[i].count());
    auto flaky_counts = healthy.stats().flaky;
    std::printf("); the server saw %llu requests for it\n", (unsigned long long)flaky_counts["demo"]);
    if (answer.status != 200)
        throw std::runtime_error("section 7: fetch_with_retry on /flaky/demo?fail=3 ended with " +
                                 (answer.error.empty() ? "HTTP " + std::to_string(answer.status) : answer.error));
    lesson.say("  the run with failures (" + timeline.drawn() + "; a retried key shows twice):");
    lesson.timeline(timeline.recorder(), "failures");
}

}  // namespace lesson06
