// Section 5: take(n) stops early; every producer is released and joined.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "parts.hpp"

namespace lesson04 {

using course::channels::Channel;
using course::channels::channel_closed;

void take_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("5. take(n): stop early, and leave no producer behind");
    const unsigned p = s.producers;
    lesson.say(std::to_string(p) + " producers push endless streams into a channel of capacity 64; the");
    lesson.say("consumer takes n items and closes. Each producer blocked in push gets channel_closed,");
    lesson.say("returns, and its thread is joined when the last handle to the channel goes away.");
    lesson.say("(The original Julia notes leave these \"zombie\" tasks to the garbage collector.)");

    std::vector<std::size_t> sizes{1'000, 10'000, s.items / 10};
    double reference = one_thread_channel_seconds(sizes.back(), s.repeats);
    course::ResultTable table("take");
    course::Recorder rec;
    std::vector<std::string> counts;
    for (std::size_t n : sizes) {
        std::atomic<int> released{0};
        // The baseline is the least count over a moment (a thread of the previous run can
        // stay listed in /proc/self/task for a moment after its join).
        std::size_t before = course::live_threads_baseline(), during = 0;
        std::size_t got = 0;
        course::Recorder* r = n == sizes.front() ? &rec : nullptr;   // one timeline is enough
        double seconds = course::time_seconds([&] {
            std::vector<std::function<void(Channel<int>&)>> jobs;
            for (unsigned k = 0; k < p; ++k)
                jobs.push_back([&released, r, k](Channel<int>& out) {
                    auto start = course::Clock::now();
                    try {
                        for (int i = 0;; ++i) out.push(i);
                    } catch (const channel_closed&) {
                        released.fetch_add(1);   // woken by take's close
                    }
                    std::string name = "producer " + std::to_string(k + 1);
                    if (r) r->record_on(name, name, start, course::Clock::now());
                });
            auto channel = course::channels::merge(std::move(jobs), 64);
            during = live_threads();
            auto start = course::Clock::now();
            got = course::channels::take(*channel, n).size();
            if (r) r->record_on("consumer", "take " + std::to_string(n), start, course::Clock::now());
        });   // `channel` dies here: every producer thread joined
        // Re-read for a moment if too high, for the same reason; higher after that means
        // a thread really was left behind.
        std::size_t after = course::live_threads_at_most(before);
        counts.push_back("  take(" + std::to_string(n) + "): live threads before " + std::to_string(before) +
                         ", while producing " + std::to_string(during) + ", after " + std::to_string(after) +
                         "; producers released by close: " + std::to_string(released.load()) + " of " +
                         std::to_string(p));
        auto& row = table.add({.variant = "take", .n = got, .seconds = seconds,
                               .bound_seconds = reference * double(n) / double(sizes.back()),
                               .bound = "1-thread push+pop", .workers = p + 1,
                               .ok = got == n && after <= before && released.load() == int(p)});
        row.extra["threads_before"] = before;
        row.extra["threads_during"] = during;
        row.extra["threads_after"] = after;
        if (after > before)
            counts.push_back("  MISMATCH: take(" + std::to_string(n) + ") left " + std::to_string(after - before) +
                             " thread(s) behind (the row says ok=false)");
    }
    lesson.report(table);
    for (auto& line : counts) lesson.say(line);
    lesson.say("  The time includes starting and joining the producer threads; the bound does not.");
    lesson.say("\nWho ran when (take 1000): every producer ends right after take closes the channel.");
    lesson.timeline(rec, "take");
}

}  // namespace lesson04
