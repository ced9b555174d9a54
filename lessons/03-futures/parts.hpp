// The sections of lesson 03, one function each, in the files of this folder:
//   standard.cpp      1. std::async, std::promise, std::packaged_task; 4. exceptions
//   asio_pool.cpp     2. boost::asio::thread_pool + post + use_future
//   boost_future.cpp  3. boost::future: .then and when_all
//   submit.cpp        5. slowadd x 8, serial vs submitted; 6. Exercise 7.1's double loop
//   stocks.cpp        7. Exercise 7.2 load-parse-store; 8. Exercise 7.3 most correlated pair
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

#include "common/lesson.hpp"

namespace lesson03 {

struct Settings {
    std::chrono::milliseconds delay{100};   // what one slowadd/slowsub call sleeps
    unsigned workers = 6;                   // pool size: Python's default, min(32, cores + 4)
    std::filesystem::path data;             // a daily-stock folder (the sample by default)
    int repeats = 3;                        // best of N for the short CPU-bound experiments
    unsigned large_tickers = 48, large_days = 5000;   // the generated folder of the full run
};

void standard_futures(course::Lesson& lesson, const Settings& s);
void asio_pool(course::Lesson& lesson, const Settings& s);
void boost_continuations(course::Lesson& lesson, const Settings& s);
void exceptions(course::Lesson& lesson, const Settings& s);
void submit_many(course::Lesson& lesson, const Settings& s);
void double_loop(course::Lesson& lesson, const Settings& s);
// On one daily-stock folder; `label` names it in the heading and the experiment.
void load_parse_store_files(course::Lesson& lesson, const Settings& s, const std::filesystem::path& dir,
                            const std::string& label, bool show_broken);
void most_correlated(course::Lesson& lesson, const Settings& s, const std::filesystem::path& dir,
                     const std::string& label);

// The delay as seconds, and ceil(calls / pool) waves of it: the bound of `calls`
// sleeping tasks on `pool` threads.
double seconds_of(std::chrono::milliseconds d);
double waves_bound(std::size_t calls, unsigned pool, std::chrono::milliseconds d);

// "seed (Python, delay 1 s): 8.01 s  ->  scaled to our 100 ms: 0.801 s  |  ours: 0.802 s"
std::string seed_beside_ours(const std::string& what, double seed_seconds, std::chrono::milliseconds d,
                             double ours);

unsigned cores();

}  // namespace lesson03
