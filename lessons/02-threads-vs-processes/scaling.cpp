// Section 1: the same tasks on 1..N threads and on 1..N child processes.
//
// CPU-bound tasks (hashing) can only go as fast as the cores allow: past the core count
// more workers just take turns. I/O-bound tasks (here: sleeps, standing in for waiting
// on a disk or a server) use no core while they wait, so both threads and processes
// keep scaling far past the core count. Unlike CPython, nothing serialises C++ threads:
// the thread rows scale exactly like the process rows.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include "common/process_stats.hpp"
#include "sections.hpp"
#include "tvp.hpp"

namespace tvp_lesson {
namespace {

using course::Clock;
using course::cpu_seconds;
using course::Measurement;
using course::Recorder;
using course::ResultTable;

// The CPU-bound task: 64-bit FNV-1a over a 64 KiB block, `rounds` times. Each byte
// depends on the previous hash (a multiply chain), so the compiler cannot vectorise it
// away and the time is pure core work, with the block sitting in the core's cache.
struct HashWork {
    std::vector<unsigned char> block;
    int rounds = 1;

    std::uint64_t operator()(std::size_t task) const {
        std::uint64_t h = 14695981039346656037ull ^ task;
        for (int r = 0; r < rounds; ++r)
            for (unsigned char b : block) {
                h ^= b;
                h *= 1099511628211ull;
            }
        return h;
    }
};

HashWork make_hash_work(double task_seconds) {
    HashWork work;
    work.block.resize(64 * 1024);
    std::uint32_t x = 12345;
    for (auto& b : work.block) b = static_cast<unsigned char>((x = x * 1664525u + 1013904223u) >> 24);
    // Calibrate: time a few rounds, then pick rounds so that one task takes task_seconds.
    // (The volatile sink keeps the optimiser from dropping a call whose result is unused.)
    work.rounds = 8;
    volatile std::uint64_t sink = 0;
    double t = course::best_of(3, [&] { sink = work(0); });
    (void)sink;
    work.rounds = int(std::clamp(task_seconds / std::max(t / 8, 1e-9), 1.0, 1e6));
    return work;
}

// One task's answer and when it ran. steady_clock is CLOCK_MONOTONIC, one clock for the
// whole machine, so times taken in a child process line up with the parent's.
struct TaskResult {
    std::uint64_t value;
    Clock::rep start, end;
    long pid;
};

template <class Work>
TaskResult timed(const Work& work, std::size_t task) {
    auto start = Clock::now();
    std::uint64_t v = work(task);
    return {v, start.time_since_epoch().count(), Clock::now().time_since_epoch().count(), long(::getpid())};
}

Clock::time_point at(Clock::rep r) { return Clock::time_point(Clock::duration(r)); }

// Each task ran in a fresh child. Draw them on as few lanes as possible ("slot k": the
// k-th child running at the same time), which shows at a glance how many ran at once.
void record_process_slots(Recorder& rec, const std::vector<TaskResult>& results) {
    std::vector<std::size_t> order(results.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return results[a].start < results[b].start; });
    std::vector<Clock::rep> slot_free_at;
    for (auto i : order) {
        auto& r = results[i];
        std::size_t slot = 0;
        while (slot < slot_free_at.size() && slot_free_at[slot] > r.start) ++slot;
        if (slot == slot_free_at.size()) slot_free_at.push_back(0);
        slot_free_at[slot] = r.end;
        rec.record_on("child slot " + std::to_string(slot + 1), "task " + std::to_string(i), at(r.start),
                      at(r.end), r.pid);
    }
}

template <class Work>
std::vector<TaskResult> run_on_threads(const Work& work, std::size_t tasks, unsigned w, Recorder* rec) {
    return thread_map([&](std::size_t i) { return timed(work, i); }, tasks, w, rec);
}

template <class Work>
std::vector<TaskResult> run_in_processes(const Work& work, std::size_t tasks, unsigned w, Recorder* rec) {
    std::vector<std::size_t> ids(tasks);
    std::iota(ids.begin(), ids.end(), 0);
    // fork copies the parent's memory, so each child finds `work` (and its block)
    // already there; only the small TaskResult travels back, through a pipe.
    auto results = course::tvp::process_map([&](const std::size_t& i) { return timed(work, i); }, ids, w);
    if (rec) record_process_slots(*rec, results);
    return results;
}


bool same_values(const std::vector<TaskResult>& got, const std::vector<std::uint64_t>& expected) {
    if (got.size() != expected.size()) return false;
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i].value != expected[i]) return false;
    return true;
}

void cpu_bound(course::Lesson& lesson, const Settings& s) {
    const std::size_t tasks = 12;   // divisible by 1, 2, 3, 4, 6: no worker idles at the end
    const double task_seconds = s.quick ? 0.004 : 0.025;
    const int repeats = s.quick ? 1 : 2;
    HashWork work = make_hash_work(task_seconds);

    std::vector<std::uint64_t> expected(tasks);
    double serial = course::best_of(repeats, [&] {
        for (std::size_t i = 0; i < tasks; ++i) expected[i] = work(i);
    });
    char line[200];
    std::snprintf(line, sizeof line,
                  "CPU-bound: %zu tasks, each FNV-1a over 64 KiB x %d rounds (%.1f ms); serial t1 = %.3f s.",
                  tasks, work.rounds, serial / tasks * 1000, serial);
    lesson.say(line);
    lesson.say("bound = max(t1 * ceil(T / w) / T, t1 / cores): the busiest worker runs ceil(T / w) whole tasks,\n"
               "and all the work shares the cores; past the core count the cores, not the workers, are the limit.");

    ResultTable table("cpu-bound");
    std::vector<double> speedup_threads, speedup_procs, used_threads, used_procs;
    for (int kind = 0; kind < 2; ++kind) {
        for (unsigned w = 1; w <= s.workers; ++w) {
            std::vector<TaskResult> got;
            double cores_used = 0;
            double t = course::best_of(repeats, [&] {
                double cpu0 = cpu_seconds();
                course::Stopwatch wall;
                got = kind == 0 ? run_on_threads(work, tasks, w, nullptr) : run_in_processes(work, tasks, w, nullptr);
                cores_used = (cpu_seconds() - cpu0) / wall.seconds();
            });
            // Two limits, the larger wins: a task runs on one core, so the worker with the
            // most tasks needs ceil(T / w) task times; and the t1 of work, shared out
            // perfectly, still needs t1 / cores. (With w > cores the workers take turns on
            // the cores, so the first limit alone would be too optimistic, and
            // ceil(T / cores) task times would be too pessimistic when cores do not divide T.)
            const double busiest_worker = serial * std::ceil(double(tasks) / w) / double(tasks);
            const double all_cores = serial / s.cores;
            Measurement row{.variant = kind == 0 ? "threads" : "processes", .n = tasks, .seconds = t,
                            .bound_seconds = std::max(busiest_worker, all_cores),
                            .bound = "max(T/w,cores)",   // short for the formula said above
                            .workers = w, .ok = same_values(got, expected)};
            row.extra["speedup"] = serial / t;
            row.extra["cores_used"] = cores_used;
            (kind == 0 ? speedup_threads : speedup_procs).push_back(serial / t);
            (kind == 0 ? used_threads : used_procs).push_back(cores_used);
            table.add(row);
        }
    }
    lesson.report(table);
    lesson.say("speedup t1/t for w = 1.." + std::to_string(s.workers) + ":  threads " + join_fixed(speedup_threads) +
               "   processes " + join_fixed(speedup_procs));
    lesson.say("cores used (CPU time / wall time):     threads " + join_fixed(used_threads) + "   processes " +
               join_fixed(used_procs));
    double most = std::max(*std::max_element(used_threads.begin(), used_threads.end()),
                           *std::max_element(used_procs.begin(), used_procs.end()));
    if (s.workers >= 2 && s.cores >= 2 && most < 0.75 * std::min(s.workers, s.cores)) {
        char note[220];
        std::snprintf(note, sizeof note,
                      "note: no run got more than %.2f cores: the machine is busy. Linux shares the cores fairly\n"
                      "between sessions (autogroups), not threads, so more workers cannot take a bigger share.", most);
        lesson.say(note);
    }

    Recorder threads_rec, procs_rec;
    run_on_threads(work, tasks, s.workers, &threads_rec);
    run_in_processes(work, tasks, s.workers, &procs_rec);
    lesson.say("\n" + std::to_string(s.workers) + " threads on " + std::to_string(s.cores) +
               " cores (each task stretches: the threads take turns on the cores):");
    lesson.timeline(threads_rec, "cpu-bound threads");
    lesson.say(std::to_string(s.workers) + " child processes at a time (one fresh child per task):");
    lesson.timeline(procs_rec, "cpu-bound processes");
}

// The I/O-bound task: a sleep. The worker holds no core while it waits.
struct SleepWork {
    std::chrono::milliseconds delay;
    std::uint64_t operator()(std::size_t task) const {
        std::this_thread::sleep_for(delay);
        return task;
    }
};

void io_bound(course::Lesson& lesson, const Settings& s) {
    const std::size_t tasks = 16;
    SleepWork work{std::chrono::milliseconds(s.quick ? 5 : 50)};
    const double d = std::chrono::duration<double>(work.delay).count();
    std::vector<std::uint64_t> expected(tasks);
    std::iota(expected.begin(), expected.end(), 0);

    char line[200];
    std::snprintf(line, sizeof line,
                  "\nI/O-bound: %zu tasks, each a %.0f ms sleep (waiting, not computing). bound = d * ceil(T / w).",
                  tasks, d * 1000);
    lesson.say(line);
    ResultTable table("io-bound");
    std::vector<double> speedup_threads, speedup_procs;
    for (int kind = 0; kind < 2; ++kind) {
        for (unsigned w : {1u, 2u, 4u, 8u, 16u}) {
            std::vector<TaskResult> got;
            double t = course::time_seconds([&] {
                got = kind == 0 ? run_on_threads(work, tasks, w, nullptr) : run_in_processes(work, tasks, w, nullptr);
            });
            Measurement row{.variant = kind == 0 ? "threads" : "processes", .n = tasks, .seconds = t,
                            .bound_seconds = d * std::ceil(double(tasks) / w), .bound = "d*ceil(T/w)",
                            .workers = w, .ok = same_values(got, expected)};
            row.extra["speedup"] = d * tasks / t;
            (kind == 0 ? speedup_threads : speedup_procs).push_back(d * tasks / t);
            table.add(row);
        }
    }
    lesson.report(table);
    lesson.say("speedup (T * d) / t for w = 1 2 4 8 16:  threads " + join_fixed(speedup_threads, 1) +
               "   processes " + join_fixed(speedup_procs, 1));
    lesson.say("Past the " + std::to_string(s.cores) +
               " cores both keep scaling: a sleeping worker needs no core. A process costs a fork per task.");
    Recorder rec;
    run_in_processes(work, tasks, 8, &rec);
    lesson.say("8 child processes sleeping at once:");
    lesson.timeline(rec, "io-bound processes");
}

// The exercise's parallel_sum: n threads, each summing its own slice of one shared
// array. No copy, no pipe: the threads read the same memory. Adding is so cheap that the
// limit soon becomes memory bandwidth, not the cores.
void parallel_sum_scaling(course::Lesson& lesson, const Settings& s) {
    const std::size_t n = s.quick ? (1u << 20) : (16u << 20);
    const int repeats = s.quick ? 2 : 3;
    std::vector<std::uint64_t> data(n);
    std::uint64_t x = 88172645463325252ull;
    for (auto& v : data) v = (x ^= x << 13, x ^= x >> 7, x ^= x << 17);
    const std::uint64_t expected = std::accumulate(data.begin(), data.end(), std::uint64_t{0});

    lesson.say("\nThe exercise's parallel_sum over " + std::to_string(n >> 20) +
               " Mi uint64 (" + std::to_string(n * 8 >> 20) + " MiB), shared by the threads, no copies:");
    ResultTable table("parallel-sum");
    double t1 = 0;
    for (unsigned w = 1; w <= s.workers; ++w) {
        std::uint64_t got = 0;
        double t = course::best_of(repeats, [&] { got = course::tvp::parallel_sum(data, w); });
        if (w == 1) t1 = t;
        table.add({.variant = "parallel_sum", .n = n, .seconds = t,
                   .bound_seconds = t1 / std::min(w, s.cores), .bound = "t1/min(w,cores)",
                   .workers = w, .ok = got == expected});
    }
    lesson.report(table);
}

}  // namespace

void scaling_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("1. CPU-bound and I/O-bound work on threads and on processes");
    cpu_bound(lesson, s);
    io_bound(lesson, s);
    parallel_sum_scaling(lesson, s);
}

}  // namespace tvp_lesson
