// Lesson 02: threads and processes.
//
//   one process, several threads               several processes (fork)
//   +-------------------------------+          +-----------+  +-----------+
//   | memory: ONE copy, shared      |          | memory    |  | memory    |
//   |   data[]   counter   mutex    |          | (a copy)  |  | (a copy)  |
//   |     ^         ^        ^      |          |  child 1  |  |  child 2  |
//   |  thread 1  thread 2  thread 3 |          +-----+-----+  +-----+-----+
//   +-------------------------------+                | pipe         | pipe
//     all run at once on the cores:                  v              v
//     fast to start, cheap in memory,          +-----------------------------+
//     but they can race and deadlock           | parent: reads the results   |
//                                              +-----------------------------+
//                                                nothing shared: safe, dearer
//
// Sections: 1. CPU-bound hashing and I/O-bound sleeps on 1..N threads and 1..N child
// processes (fork + pipe, via the exercise's process_map), and the exercise's
// parallel_sum; 2. the lost update on a shared counter, fixed with std::mutex and with
// std::atomic; 3. a two-lock deadlock caught by a watchdog, then std::scoped_lock and lock
// ordering (the exercise's Bank), and starvation by an unfair lock holder; 4. the
// memory of 100 threads vs 100 processes, read from /proc.
#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "sections.hpp"

namespace tvp_lesson {

std::string join_fixed(const std::vector<double>& xs, int decimals) {
    std::string out;
    char buf[32];
    for (double x : xs) {
        std::snprintf(buf, sizeof buf, "%s%.*f", out.empty() ? "" : " ", decimals, x);
        out += buf;
    }
    return out;
}

}  // namespace tvp_lesson

int main(int argc, char** argv) {
    course::Lesson lesson("02-threads-vs-processes", "threads and processes: sharing, racing, locking, costs");
    tvp_lesson::Settings s;
    s.cores = std::max(1u, std::thread::hardware_concurrency());
    unsigned workers = 0;
    lesson.add_options()
        ("workers", po::value(&workers)->value_name("N"),
         "most threads/processes in the scaling runs (default: 2 x cores)");
    return lesson.run(argc, argv, [&] {
        s.quick = lesson.quick();
        s.workers = workers > 0 ? workers : 2 * s.cores;
        tvp_lesson::scaling_section(lesson, s);
        tvp_lesson::race_section(lesson, s);
        tvp_lesson::lock_section(lesson, s);
        tvp_lesson::memory_section(lesson, s);
    });
}
