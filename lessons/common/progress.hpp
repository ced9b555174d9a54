// A progress bar for long lesson runs. It draws on stderr only when stderr is a
// terminal, so piped output, CI logs and --json runs stay clean. Thread-safe: any
// producer may call advance(); drawing is throttled to ~10 times a second.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>

#include "common/stopwatch.hpp"

namespace course {

class ProgressBar {
public:
    ProgressBar(std::string label, std::size_t total);
    ~ProgressBar() { finish(); }
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void advance(std::size_t k = 1);
    void finish();                     // erases the bar; idempotent
    std::size_t done() const { return done_.load(std::memory_order_relaxed); }
    bool drawing() const { return enabled_; }

    // The text of the bar for `done` of `total`, e.g. "loading [#####     ] 50 % 5000/10000".
    static std::string render(const std::string& label, std::size_t done, std::size_t total, int width = 30);

private:
    void draw();

    std::string label_;
    std::size_t total_;
    bool enabled_;
    std::atomic<std::size_t> done_{0};
    std::atomic<bool> finished_{false};
    std::mutex draw_mutex_;
    Stopwatch since_draw_;
};

}  // namespace course
