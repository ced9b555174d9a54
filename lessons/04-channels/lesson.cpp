// Lesson 04: channels. Many producers, one consumer, and a bounded buffer between them.
//
//   producer 1 ──push──┐                                ┌─ full:  push waits (backpressure)
//   producer 2 ──push──┼──▶ [ ■ ■ ■ ■ □ □ □ □ ] ──pop──▶ consumer
//   producer 3 ──push──┘      capacity 8        └─ empty: pop waits
//        │                                                 │
//        └── the LAST producer to finish closes ──▶ pop drains what is buffered,
//            the channel (a counter, exactly once)      then returns "end"
//
// Sections: 1. one producer, one consumer, a small buffer: the producer runs ahead
// until the buffer is full, then waits (timeline); throughput per item at several
// capacities. 2. many producers: closing on a guess vs closing after the last one.
// 3. items buffered at close: ours keeps them, Boost 1.81's Asio channel drops them.
// 4. boost::fibers::buffered_channel vs our Channel<T> on the same workload.
// 5. take(n): stop early, release every producer, join every thread.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <iostream>

#include "parts.hpp"

namespace lesson04 {

double deque_reference_seconds(std::size_t n, int repeats) {
    volatile long sink = 0;
    return course::best_of(repeats, [&] {
        std::deque<int> queue;
        long sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            queue.push_back(int(i));
            sum += queue.front();
            queue.pop_front();
        }
        sink = sink + sum;
    });
}

double one_thread_channel_seconds(std::size_t n, int repeats) {
    volatile long sink = 0;
    return course::best_of(repeats, [&] {
        course::channels::Channel<int> channel(1024);
        long sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            channel.push(int(i));
            sum += *channel.pop();
        }
        sink = sink + sum;
    });
}

std::string rate(std::size_t n, double seconds) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2f M items/s, %.0f ns per item", double(n) / seconds / 1e6,
                  seconds / double(n) * 1e9);
    return buf;
}

}  // namespace lesson04

int main(int argc, char** argv) {
    course::Lesson lesson("04-channels", "channels: bounded buffers, many producers, closing, take(n)");
    lesson04::Settings s;
    lesson.add_options()
        ("items", po::value(&s.items), "items per throughput run (default 5,000,000; --quick 200,000)")
        ("capacity", po::value(&s.capacity), "channel capacity of the throughput runs (default 1024)")
        ("producers", po::value(&s.producers), "producers in the many-producer sections (default 4)");
    return lesson.run(argc, argv, [&] {
        if (s.items == 0) s.items = lesson.quick() ? 200'000 : 5'000'000;
        if (s.capacity == 0) s.capacity = 1024;
        if (s.producers == 0) s.producers = 4;
        s.repeats = lesson.quick() ? 1 : 3;
        lesson04::backpressure_section(lesson, s);
        lesson04::many_producers_section(lesson, s);
        lesson04::buffered_at_close_section(lesson, s);
        lesson04::fibers_section(lesson, s);
        lesson04::take_section(lesson, s);
    });
}
