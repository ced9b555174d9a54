// Section 2: the lost update.
//
//   thread 1: read counter (41)                  write 42
//   thread 2:        read counter (41)                       write 42    <- one increment lost
//
// "counter = counter + 1" is three steps (read, add, write). Two threads that both read
// before either writes both write the same value, and one increment vanishes. With a
// plain int this is a data race: undefined behaviour in C++, which the sanitizers flag and
// the optimiser may exploit (it could, say, add K at once). To show the very same lost
// update without undefined behaviour, the racy counter here is a std::atomic used the
// wrong way: a separate load and store, each atomic, with the gap between them unguarded.
// Two fixes: hold a std::mutex around the read-add-write, or make it one indivisible
// step with fetch_add.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "sections.hpp"

namespace tvp_lesson {
namespace {

using course::Measurement;
using course::ResultTable;

// Runs body() on n_threads threads, all released at once by a latch so they really
// overlap. Returns the wall time from the first thread's start to the last one's end,
// each taken by the threads themselves (the main thread may wake up late).
template <class Body>
double on_threads_together(unsigned n_threads, Body body) {
    std::latch ready(n_threads);
    std::vector<course::Clock::time_point> starts(n_threads), ends(n_threads);
    {
        std::vector<std::jthread> threads;
        for (unsigned t = 0; t < n_threads; ++t)
            threads.emplace_back([&, t] {
                ready.arrive_and_wait();
                starts[t] = course::Clock::now();
                body();
                ends[t] = course::Clock::now();
            });
    }
    return std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) -
                                         *std::min_element(starts.begin(), starts.end()))
        .count();
}

}  // namespace

void race_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("2. The lost update: threads sharing one counter");
    const unsigned n_threads = s.workers;
    // The racy loop loses updates only while threads really run at the same time, so it
    // runs for a while (on a busy machine threads take turns on the cores); the locked
    // versions do a fixed number of increments each, to compare their costs.
    const auto racy_for = std::chrono::milliseconds(s.quick ? 50 : 200);
    const std::uint64_t per_thread = s.quick ? 500'000 : 2'000'000;

    // The bound: one thread doing all the increments alone, nothing shared.
    std::atomic<std::uint64_t> alone{0};
    auto alone_seconds = [&](std::uint64_t n) {
        return course::best_of(3, [&] {
            alone.store(0);
            for (std::uint64_t i = 0; i < n; ++i)
                alone.store(alone.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        });
    };
    const double serial_per_increment = alone_seconds(n_threads * per_thread) / double(n_threads * per_thread);

    ResultTable table("lost-update");
    auto add_row = [&](const char* variant, std::uint64_t expected, double t, std::uint64_t actual) {
        Measurement row{.variant = variant, .n = expected, .seconds = t,
                        .bound_seconds = serial_per_increment * double(expected),
                        .bound = "1 thread alone", .workers = n_threads, .ok = actual == expected};
        row.extra["expected"] = expected;
        row.extra["actual"] = actual;
        row.extra["lost"] = expected - actual;
        row.extra["ns_per_increment"] = t / double(expected) * 1e9;
        table.add(row);
        char line[200];
        std::snprintf(line, sizeof line, "  %-22s expected %10llu  got %10llu  lost %10llu (%4.1f %%)  %6.1f ns/increment",
                      variant, static_cast<unsigned long long>(expected), static_cast<unsigned long long>(actual),
                      static_cast<unsigned long long>(expected - actual), 100.0 * double(expected - actual) / double(expected),
                      t / double(expected) * 1e9);
        return std::string(line);
    };
    std::vector<std::string> lines;

    // 1. Racy: read, then write, with the other threads free to write in between. The
    // threads run for a fixed time (not a fixed count) so that they surely overlap even
    // on a busy machine; each counts its own increments, and expected is their sum.
    std::atomic<std::uint64_t> racy{0};
    std::atomic<bool> stop{false};
    const auto racy_until = course::Clock::now() + racy_for;   // thread 0 calls time
    std::vector<std::uint64_t> mine(n_threads, 0);
    std::atomic<unsigned> next_id{0};
    double t = on_threads_together(n_threads, [&] {
        unsigned id = next_id.fetch_add(1);
        std::uint64_t done = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            for (int i = 0; i < 1024; ++i)
                racy.store(racy.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
            done += 1024;
            if (id == 0 && course::Clock::now() > racy_until) stop = true;
        }
        mine[id] = done;
    });
    std::uint64_t racy_expected = std::accumulate(mine.begin(), mine.end(), std::uint64_t{0});
    lines.push_back(add_row("load + store (racy)", racy_expected, t, racy.load()));

    // 2. A mutex makes read-add-write one critical section: one thread at a time.
    std::mutex m;
    std::uint64_t guarded = 0;   // only touched with m held
    t = on_threads_together(n_threads, [&] {
        for (std::uint64_t i = 0; i < per_thread; ++i) {
            std::lock_guard lock(m);
            ++guarded;
        }
    });
    lines.push_back(add_row("std::mutex", n_threads * per_thread, t, guarded));

    // 3. fetch_add: the processor does read-add-write as one indivisible instruction.
    std::atomic<std::uint64_t> counted{0};
    t = on_threads_together(n_threads, [&] {
        for (std::uint64_t i = 0; i < per_thread; ++i) counted.fetch_add(1, std::memory_order_relaxed);
    });
    lines.push_back(add_row("atomic fetch_add", n_threads * per_thread, t, counted.load()));

    for (auto& l : lines) lesson.say(l);
    lesson.report(table);
    char line[160];
    std::snprintf(line, sizeof line, "One thread alone: %.1f ns/increment. Sharing the counter costs the",
                  serial_per_increment * 1e9);
    lesson.say(line);
    lesson.say("cache line's trips between cores; the mutex adds lock and wake-up work on top.");
    lesson.say("A plain int shared this way loses updates the same way, and is undefined behaviour besides.");
}

}  // namespace tvp_lesson
