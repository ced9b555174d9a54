// What the four sections of lesson 02 share: their settings and a few small tools.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "common/lesson.hpp"

namespace tvp_lesson {

struct Settings {
    unsigned workers = 4;   // the most threads/processes a scaling experiment uses
    unsigned cores = 2;     // std::thread::hardware_concurrency()
    bool quick = false;
};

void scaling_section(course::Lesson& lesson, const Settings& s);   // 1. CPU and I/O bound
void race_section(course::Lesson& lesson, const Settings& s);      // 2. lost updates
void lock_section(course::Lesson& lesson, const Settings& s);      // 3. deadlock, starvation
void memory_section(course::Lesson& lesson, const Settings& s);    // 4. RSS of 100 of each

// "1.00 1.96 1.97": numbers for a one-line summary.
std::string join_fixed(const std::vector<double>& xs, int decimals = 2);

// Runs fn(i) for i in [0, n) on `workers` threads. Each thread takes the next index from
// a shared atomic counter (the only shared write) and stores fn(i) in its own slot of
// the result, so no slot is written by two threads. A span per task goes to rec.
template <class Fn>
auto thread_map(Fn fn, std::size_t n, unsigned workers, course::Recorder* rec = nullptr) {
    using R = decltype(fn(std::size_t{}));
    std::vector<R> out(n);
    std::atomic<std::size_t> next{0};
    {
        std::vector<std::jthread> threads;
        for (unsigned w = 0; w < workers; ++w)
            threads.emplace_back([&] {
                for (std::size_t i; (i = next.fetch_add(1)) < n;) {
                    auto start = course::Clock::now();
                    out[i] = fn(i);
                    if (rec) rec->record("task " + std::to_string(i), start, course::Clock::now());
                }
            });
    }   // the jthreads join here, so every slot of out is written before we read it
    return out;
}

}  // namespace tvp_lesson
