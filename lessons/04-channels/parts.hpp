// What the sections of lesson 04 share: its settings and a few small measuring tools.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "channel.hpp"
#include "common/lesson.hpp"
#include "common/process_stats.hpp"

namespace lesson04 {

struct Settings {
    std::size_t items = 0;       // items per throughput run
    std::size_t capacity = 0;    // channel capacity of the throughput runs
    unsigned producers = 0;      // producers of the many-producer sections
    int repeats = 3;             // best of this many runs
};

using course::live_threads;   // threads alive in this process now (lessons/common)

// The bound every throughput row is measured against: the same n items pushed into
// and popped out of a std::deque on ONE thread, no lock, no waiting. That is the cost
// of moving the data alone; whatever a channel adds is synchronisation.
double deque_reference_seconds(std::size_t n, int repeats);

// The bound of the throughput tables: the same n items pushed into and popped from our
// Channel by ONE thread (push, pop, push, pop, ...): the channel's own work with an
// uncontended mutex and never a wait. One mutex serialises every push and pop, so two
// threads sharing it cannot beat one thread doing both back to back; what they lose
// beyond this is the cost of crossing threads (cache lines moving, sleeping, waking).
double one_thread_channel_seconds(std::size_t n, int repeats);

// "12.3 M items/s, 81 ns per item"
std::string rate(std::size_t n, double seconds);

void backpressure_section(course::Lesson& lesson, const Settings& s);
void many_producers_section(course::Lesson& lesson, const Settings& s);
void buffered_at_close_section(course::Lesson& lesson, const Settings& s);
void fibers_section(course::Lesson& lesson, const Settings& s);
void take_section(course::Lesson& lesson, const Settings& s);

}  // namespace lesson04
