// Who ran which task when: one recorder feeds both the ASCII timeline a lesson prints
// and the Chrome trace-event file written by --trace (open it in ui.perfetto.dev).
//
//   Recorder rec;
//   { auto span = rec.span("chunk 3"); work(); }   // recorded on the calling thread's lane
//   print_timeline(std::cout, rec);
//
//   timeline 0 .. 0.412 s, one column = 5.7 ms
//     thread 1 |000000001111111122222222      |
//     thread 2 |333333334444444455555555666666|
//
// Lanes are named "thread 1", "thread 2", ... in order of first appearance; tasks run by
// other processes or by coroutines are recorded on a named lane with record_on().
#pragma once

#include <cstddef>
#include <iosfwd>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/stopwatch.hpp"

namespace course {

struct TraceEvent {
    std::string name;   // the task
    std::string lane;   // the thread/process/coroutine that ran it
    long pid = 0;       // the process that ran it (trace "pid")
    long tid = 0;       // the lane's number within the recorder (trace "tid")
    Clock::time_point start, end;
};

class Recorder {
public:
    // Records `name` as run by the calling thread between start and end. Thread-safe.
    void record(std::string name, Clock::time_point start, Clock::time_point end);
    // Records on an explicitly named lane ("process 4242", "coroutine 3"), for work that
    // is not the calling thread's: a child process's timings sent back over a pipe, or
    // coroutines interleaved on one thread. pid 0 means this process.
    void record_on(std::string lane, std::string name, Clock::time_point start,
                   Clock::time_point end, long pid = 0);

    // RAII: records the task from construction to destruction.
    class Span {
    public:
        // Claims the thread's lane now, so lanes are numbered in the order tasks start.
        Span(Recorder& r, std::string name) : rec_(r), name_(std::move(name)), start_(Clock::now()) {
            rec_.claim_lane();
        }
        ~Span() { rec_.record(std::move(name_), start_, Clock::now()); }
        Span(const Span&) = delete;
        Span& operator=(const Span&) = delete;

    private:
        Recorder& rec_;
        std::string name_;
        Clock::time_point start_;
    };
    Span span(std::string name) { return Span(*this, std::move(name)); }

    // Gives the calling thread its lane ("thread N") if it has none yet.
    void claim_lane();

    std::vector<TraceEvent> events() const;   // a copy, in recording order
    std::size_t lanes() const;
    void clear();

private:
    long lane_number(const std::string& lane);   // caller holds mutex_
    const std::string& thread_lane();            // caller holds mutex_

    mutable std::mutex mutex_;
    std::vector<TraceEvent> events_;
    std::vector<std::string> lane_names_;
    std::vector<std::pair<std::thread::id, std::string>> thread_lanes_;
};

// The ASCII picture: one row per lane, time left to right, each task drawn with its
// own character (0-9, a-z, A-Z, in order of start, cycling), gaps left blank.
void print_timeline(std::ostream& out, const Recorder& rec, int width = 60);

// Chrome trace-event "X" (complete) events: name, cat, ph, ts, dur (microseconds from
// `origin`), pid, tid. `category` groups a lesson's experiments.
nlohmann::json trace_events(const Recorder& rec, Clock::time_point origin, const std::string& category);

}  // namespace course
