// Wall-clock timing for lessons. steady_clock never jumps, so differences are honest.
#pragma once

#include <chrono>
#include <utility>

namespace course {

using Clock = std::chrono::steady_clock;

class Stopwatch {
public:
    Stopwatch() : start_(Clock::now()) {}
    void restart() { start_ = Clock::now(); }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    Clock::time_point started() const { return start_; }

private:
    Clock::time_point start_;
};

// Runs f once and returns how long it took, in seconds.
template <class F>
double time_seconds(F&& f) {
    Stopwatch watch;
    std::forward<F>(f)();
    return watch.seconds();
}

// Runs f `repeats` times and returns the fastest run: the least disturbed by the
// other processes on a shared machine.
template <class F>
double best_of(int repeats, F&& f) {
    double best = 1e300;
    for (int i = 0; i < repeats; ++i) {
        double t = time_seconds(f);
        if (t < best) best = t;
    }
    return best;
}

}  // namespace course
