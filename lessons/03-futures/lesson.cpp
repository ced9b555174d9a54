// Lesson 03: futures. Submit a call, get a future at once, ask it for the result later.
//
//   caller thread                     pool: N worker threads, one queue
//   -------------                     ---------------------------------
//   f0 = submit(slowadd, 0, 0) --+
//   f1 = submit(slowadd, 1, 1) --+--> [ job job job ... ] --> worker 1: slowadd(0,0) ---+
//   ...        (returns at once) |                        --> worker 2: slowadd(1,1) ---+
//   f7 = submit(slowadd, 7, 7) --+                        --> worker N: ...             |
//                                                                                       |
//   f0.get()  <---------- waits until worker 1 has stored 0 (or an exception) ---------+
//   f1.get() ...               in f0's shared state
//
// The caller never waits while submitting; it waits only in get(), and only for the
// calls that have not finished yet. With N workers, 8 calls of `delay` each take
// ceil(8 / N) waves of `delay` instead of 8 x delay.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <optional>
#include <thread>

#include <unistd.h>

#include "datasets/stocks.hpp"
#include "parts.hpp"

#ifndef COURSE_DATASETS_DIR
#error "COURSE_DATASETS_DIR must name the datasets folder (set by the top-level CMakeLists.txt)"
#endif

namespace lesson03 {

unsigned cores() { return std::max(1u, std::thread::hardware_concurrency()); }

double seconds_of(std::chrono::milliseconds d) { return std::chrono::duration<double>(d).count(); }

double waves_bound(std::size_t calls, unsigned pool, std::chrono::milliseconds d) {
    return double((calls + pool - 1) / pool) * seconds_of(d);
}

std::string seed_beside_ours(const std::string& what, double seed_seconds, std::chrono::milliseconds d,
                             double ours) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-34s original notes (Python, 1 s delay) %6.2f s -> scaled to %lld ms: %s s | ours: %s s",
                  what.c_str(), seed_seconds, (long long)d.count(),
                  course::format_seconds(seed_seconds * seconds_of(d)).c_str(), course::format_seconds(ours).c_str());
    return buf;
}

}  // namespace lesson03

namespace {

// A daily-stock folder written by the datasets generator into the temp directory, and
// removed again at the end of the run.
struct ScratchStocks {
    std::filesystem::path dir;
    std::string label;
    ScratchStocks(unsigned tickers, unsigned days)
        : dir(std::filesystem::temp_directory_path() / ("course-03-stocks-" + std::to_string(::getpid()))),
          label("generated " + std::to_string(tickers) + " x " + std::to_string(days)) {
        course::Stopwatch w;
        course::datasets::write_stocks({.tickers = tickers, .days = days, .seed = 1, .out = dir});
        std::cout << "\n(generated " << tickers << " tickers x " << days << " days into " << dir.string()
                  << " in " << course::format_seconds(w.seconds()) << " s)\n";
    }
    ~ScratchStocks() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    ScratchStocks(const ScratchStocks&) = delete;
    ScratchStocks& operator=(const ScratchStocks&) = delete;
};

}  // namespace

int main(int argc, char** argv) {
    course::Lesson lesson("03-futures", "submit, result, continuations");
    int delay_ms = -1;
    unsigned workers = 0;
    std::string data;
    unsigned large_tickers = 48, large_days = 5000;
    lesson.add_options()
        ("delay", po::value(&delay_ms)->value_name("MS"),
         "what one slowadd/slowsub call sleeps (default 100; --quick 10; the original Python notes used 1000)")
        ("workers", po::value(&workers)->value_name("N"),
         "pool size (default min(32, cores + 4), Python's ThreadPoolExecutor default)")
        ("data", po::value(&data)->value_name("DIR"),
         "a daily-stock folder (default datasets/samples/daily-stock; make a bigger one with "
         "course-datasets stocks --out DIR)")
        ("large-tickers", po::value(&large_tickers)->value_name("N"),
         "tickers of the generated folder of the full run (default 48)")
        ("large-days", po::value(&large_days)->value_name("N"),
         "days of the generated folder of the full run (default 5000)");

    return lesson.run(argc, argv, [&] {
        lesson03::Settings s;
        s.delay = std::chrono::milliseconds(delay_ms >= 0 ? delay_ms : lesson.quick() ? 10 : 100);
        s.workers = workers > 0 ? workers : std::min(32u, lesson03::cores() + 4);
        s.data = data.empty() ? std::filesystem::path(COURSE_DATASETS_DIR) / "samples" / "daily-stock"
                              : std::filesystem::path(data);
        s.repeats = lesson.quick() ? 1 : 3;
        s.large_tickers = large_tickers;
        s.large_days = large_days;
        std::cout << "delay " << s.delay.count() << " ms per slow call, pool of " << s.workers
                  << " threads, data " << s.data.string() << "\n";

        lesson03::standard_futures(lesson, s);
        lesson03::asio_pool(lesson, s);
        lesson03::boost_continuations(lesson, s);
        lesson03::exceptions(lesson, s);
        lesson03::submit_many(lesson, s);
        lesson03::double_loop(lesson, s);
        // 7.2 and 7.3 on the checked-in sample (or --data), then, in the full run, on a
        // bigger folder made by the datasets generator: the sample's tasks are too small
        // for any pool to pay off, which is one of the lessons.
        const std::string label = data.empty() ? "sample" : "--data";
        std::optional<ScratchStocks> large;
        if (!lesson.quick() && data.empty()) large.emplace(s.large_tickers, s.large_days);
        lesson03::load_parse_store_files(lesson, s, s.data, label, true);
        if (large) lesson03::load_parse_store_files(lesson, s, large->dir, large->label, false);
        lesson03::most_correlated(lesson, s, s.data, label);
        if (large) lesson03::most_correlated(lesson, s, large->dir, large->label);
    });
}
