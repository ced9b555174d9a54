#include "common/progress.hpp"

#include <algorithm>
#include <cstdio>
#include <unistd.h>

namespace course {

ProgressBar::ProgressBar(std::string label, std::size_t total)
    : label_(std::move(label)), total_(total), enabled_(::isatty(STDERR_FILENO) == 1) {}

std::string ProgressBar::render(const std::string& label, std::size_t done, std::size_t total, int width) {
    double fraction = total ? std::min(1.0, double(done) / double(total)) : 1.0;
    int filled = int(fraction * width);
    char tail[64];
    std::snprintf(tail, sizeof tail, "] %3d %% %zu/%zu", int(fraction * 100), done, total);
    return label + " [" + std::string(std::size_t(filled), '#') + std::string(std::size_t(width - filled), ' ') + tail;
}

void ProgressBar::advance(std::size_t k) {
    done_.fetch_add(k, std::memory_order_relaxed);
    if (!enabled_) return;
    // Only one thread draws at a time, and not more than ~10 times a second; the
    // others just count and move on (a progress bar must never slow the work).
    std::unique_lock lock(draw_mutex_, std::try_to_lock);
    if (lock && since_draw_.seconds() > 0.1) {
        draw();
        since_draw_.restart();
    }
}

void ProgressBar::draw() {
    auto text = render(label_, done(), total_);
    std::fprintf(stderr, "\r%s", text.c_str());
    std::fflush(stderr);
}

void ProgressBar::finish() {
    if (finished_.exchange(true) || !enabled_) return;
    std::lock_guard lock(draw_mutex_);
    auto width = render(label_, done(), total_).size();
    std::fprintf(stderr, "\r%s\r", std::string(width, ' ').c_str());
    std::fflush(stderr);
}

}  // namespace course
