// What a lesson counts about its own process: CPU time used, threads alive, children
// alive. Used to show "no thread or worker left behind" and how many cores a run
// really had (CPU time / wall time: on a machine busy with other work it can stay
// near 1 however many workers we start).
#pragma once

#include <chrono>
#include <cstddef>

namespace course {

// CPU seconds (user + system) of this process and of its children already reaped.
double cpu_seconds();

// Threads alive in this process now (entries of /proc/self/task; 0 where there is no /proc).
std::size_t live_threads();

// The same, once the count has settled to at most `expected`: a thread that has just
// been joined can stay listed in /proc/self/task for a moment after join() returns, so
// a higher count is re-read every millisecond for up to `patience` before it is
// believed. Returns the last count read (> expected only if a thread really is left).
std::size_t live_threads_at_most(std::size_t expected,
                                 std::chrono::milliseconds patience = std::chrono::seconds(2));

// A baseline to compare against later: the smallest count seen over `window`, so a
// thread joined just before the call does not inflate it. It first starts and joins
// one thread, so that helper threads a runtime starts at the first thread creation
// (ThreadSanitizer does) are already counted.
std::size_t live_threads_baseline(std::chrono::milliseconds window = std::chrono::milliseconds(20));

// Child processes of this process now, running or zombie (from /proc/<pid>/stat;
// 0 where there is no /proc).
std::size_t live_children();

}  // namespace course
