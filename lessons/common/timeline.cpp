#include "common/timeline.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <unistd.h>

namespace course {

long Recorder::lane_number(const std::string& lane) {
    auto it = std::find(lane_names_.begin(), lane_names_.end(), lane);
    if (it != lane_names_.end()) return long(it - lane_names_.begin()) + 1;
    lane_names_.push_back(lane);
    return long(lane_names_.size());
}

const std::string& Recorder::thread_lane() {
    auto me = std::this_thread::get_id();
    auto it = std::find_if(thread_lanes_.begin(), thread_lanes_.end(),
                           [&](auto& entry) { return entry.first == me; });
    if (it != thread_lanes_.end()) return it->second;
    thread_lanes_.emplace_back(me, "thread " + std::to_string(thread_lanes_.size() + 1));
    lane_number(thread_lanes_.back().second);
    return thread_lanes_.back().second;
}

void Recorder::claim_lane() {
    std::lock_guard lock(mutex_);
    thread_lane();
}

void Recorder::record(std::string name, Clock::time_point start, Clock::time_point end) {
    std::lock_guard lock(mutex_);
    std::string lane = thread_lane();
    long tid = lane_number(lane);
    events_.push_back({std::move(name), std::move(lane), long(::getpid()), tid, start, end});
}

void Recorder::record_on(std::string lane, std::string name, Clock::time_point start,
                         Clock::time_point end, long pid) {
    std::lock_guard lock(mutex_);
    long tid = lane_number(lane);
    events_.push_back({std::move(name), std::move(lane), pid ? pid : long(::getpid()), tid, start, end});
}

std::vector<TraceEvent> Recorder::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

std::size_t Recorder::lanes() const {
    std::lock_guard lock(mutex_);
    return lane_names_.size();
}

void Recorder::clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
    lane_names_.clear();
    thread_lanes_.clear();
}

void print_timeline(std::ostream& out, const Recorder& rec, int width) {
    auto events = rec.events();
    if (events.empty() || width <= 0) return;
    std::sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.start < b.start; });

    auto t0 = events.front().start;
    auto t1 = t0;
    std::vector<std::string> lanes;
    for (auto& e : events) {
        t1 = std::max(t1, e.end);
        if (std::find(lanes.begin(), lanes.end(), e.lane) == lanes.end()) lanes.push_back(e.lane);
    }
    double total = std::chrono::duration<double>(t1 - t0).count();
    if (total <= 0) total = 1e-9;
    auto column = [&](Clock::time_point t) {
        double x = std::chrono::duration<double>(t - t0).count() / total * width;
        return std::clamp(int(x), 0, width);
    };

    static constexpr char marks[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::vector<std::string> rows(lanes.size(), std::string(std::size_t(width), ' '));
    for (std::size_t i = 0; i < events.size(); ++i) {
        auto& e = events[i];
        auto lane = std::size_t(std::find(lanes.begin(), lanes.end(), e.lane) - lanes.begin());
        int from = column(e.start);
        int to = std::max(from + 1, column(e.end));   // every task gets at least one column
        for (int x = from; x < to && x < width; ++x) rows[lane][std::size_t(x)] = marks[i % (sizeof marks - 1)];
    }

    std::size_t lane_width = 0;
    for (auto& l : lanes) lane_width = std::max(lane_width, l.size());
    char head[128];
    std::snprintf(head, sizeof head, "  timeline 0 .. %.3f s, one column = %.2g ms, one character per task\n",
                  total, total / width * 1000);
    out << head;
    for (std::size_t i = 0; i < lanes.size(); ++i)
        out << "    " << lanes[i] << std::string(lane_width - lanes[i].size(), ' ') << " |" << rows[i] << "|\n";
}

nlohmann::json trace_events(const Recorder& rec, Clock::time_point origin, const std::string& category) {
    nlohmann::json out = nlohmann::json::array();
    auto micros = [](Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); };
    for (auto& e : rec.events()) {
        out.push_back({{"name", e.name},
                       {"cat", category},
                       {"ph", "X"},
                       {"ts", micros(e.start - origin)},
                       {"dur", micros(e.end - e.start)},
                       {"pid", e.pid},
                       {"tid", e.tid},
                       {"args", {{"lane", e.lane}}}});
    }
    return out;
}

}  // namespace course
