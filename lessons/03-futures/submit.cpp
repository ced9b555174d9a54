// Sections 5 and 6: the seed's timings. Eight sleeping calls serially and submitted to
// a pool; then Exercise 7.1, the double loop of slowadd/slowsub, the same way.
#include <future>
#include <vector>

#include "futures.hpp"
#include "parts.hpp"

using course::Recorder;
using course::ResultTable;
using course::Stopwatch;
using course::futures::slowadd;
using course::futures::slowsub;
using course::futures::ThreadPool;

namespace lesson03 {

namespace {

bool doubles(const std::vector<int>& v) {
    for (int i = 0; i < int(v.size()); ++i)
        if (v[i] != 2 * i) return false;
    return v.size() == 8;
}

// slowadd(i, i) for i < 8 on a pool of `threads`, each call a span of `rec`.
std::vector<int> submitted(unsigned threads, std::chrono::milliseconds d, Recorder& rec) {
    ThreadPool pool(threads);
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 8; ++i)
        futures.push_back(pool.submit([i, d, &rec] {
            auto span = rec.span("slowadd(" + std::to_string(i) + ")");
            return slowadd(i, i, d);
        }));
    return course::futures::when_all(std::move(futures));
}

// The seed's Exercise 7.1 loop as written, one call after another.
std::vector<int> serial_double_loop(std::chrono::milliseconds d) {
    std::vector<int> results;
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            if (i < j)
                results.push_back(slowadd(i, j, d));
            else if (i > j)
                results.push_back(slowsub(i, j, d));
        }
    return results;
}

}  // namespace

void submit_many(course::Lesson& lesson, const Settings& s) {
    lesson.section("5. slowadd x 8: one after another vs submitted to a pool");
    const auto d = s.delay;
    lesson.say("Each call sleeps for the delay, like an I/O wait: no core is busy, so a pool helps\n"
               "even past the number of cores. The bound is ceil(8 / pool) waves of one delay.");
    ResultTable table("slowadd-x8");

    Stopwatch w;
    std::vector<int> serial;
    for (int i = 0; i < 8; ++i) serial.push_back(slowadd(i, i, d));
    double serial_seconds = w.seconds();
    table.add({.variant = "serial", .n = 8, .seconds = serial_seconds, .bound_seconds = 8 * seconds_of(d),
               .bound = "sum of delays", .ok = doubles(serial),
               .extra = {{"seed_seconds_scaled", 8.01 * seconds_of(d)}}});

    Recorder rec;
    w.restart();
    auto on_pool = submitted(s.workers, d, rec);
    double pool_seconds = w.seconds();
    table.add({.variant = "ThreadPool submit", .n = 8, .seconds = pool_seconds,
               .bound_seconds = waves_bound(8, s.workers, d), .bound = "ceil(8/P)*d", .workers = s.workers,
               .ok = doubles(on_pool), .extra = {{"seed_seconds_scaled", 2.0 * seconds_of(d)}}});

    Recorder rec8;
    w.restart();
    auto on_eight = submitted(8, d, rec8);
    table.add({.variant = "ThreadPool submit", .n = 8, .seconds = w.seconds(), .bound_seconds = waves_bound(8, 8, d),
               .bound = "ceil(8/P)*d", .workers = 8, .ok = doubles(on_eight)});
    lesson.report(table);

    lesson.say("");
    lesson.say(seed_beside_ours("serial, 8 calls", 8.01, d, serial_seconds));
    lesson.say(seed_beside_ours("ThreadPoolExecutor(), 8 calls", 2.0, d, pool_seconds));
    lesson.say("The original notes' 2 s are two waves: Python's default pool, min(32, cores + 4) threads, had\n"
               "fewer than 8 threads on its machine (6 on 2 cores). Ours with the same default:");
    lesson.timeline(rec, "slowadd-x8");
}

void double_loop(course::Lesson& lesson, const Settings& s) {
    lesson.section("6. Exercise 7.1: the double loop of slowadd and slowsub, submitted");
    const auto d = s.delay;
    const std::vector<int> expected{1, 2, 3, 1, 3, 4, 2, 1, 5, 3, 2, 1};
    lesson.say("for i, j in 0..3: slowadd(i, j) if i < j, slowsub(i, j) if i > j: 12 calls. Submitting each\n"
               "call keeps the loop's shape; reading the futures in loop order keeps the results' order.");
    ResultTable table("exercise-7.1");

    Stopwatch w;
    auto serial = serial_double_loop(d);
    double serial_seconds = w.seconds();
    table.add({.variant = "serial loop", .n = 12, .seconds = serial_seconds, .bound_seconds = 12 * seconds_of(d),
               .bound = "sum of delays", .ok = serial == expected,
               .extra = {{"seed_seconds_scaled", 12.0 * seconds_of(d)}}});
    for (unsigned threads : {s.workers, 12u}) {
        ThreadPool pool(threads);
        w.restart();
        auto results = course::futures::slow_ops_parallel(pool, d);
        table.add({.variant = "slow_ops_parallel", .n = 12, .seconds = w.seconds(),
                   .bound_seconds = waves_bound(12, threads, d), .bound = "ceil(12/P)*d", .workers = threads,
                   .ok = results == expected});
    }
    lesson.report(table);
    lesson.say("");
    lesson.say(seed_beside_ours("serial double loop, 12 calls", 12.0, d, serial_seconds));
    lesson.say("  (the original notes leave the submitted version as the exercise: they print no time for it)");
}

}  // namespace lesson03
