// Section 1: one producer, one consumer, a bounded buffer between them.
#include <algorithm>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "parts.hpp"

namespace lesson04 {

using course::Clock;
using course::channels::Channel;
using namespace std::chrono_literals;

namespace {

struct ProducerItem {
    Clock::time_point make_start, push_start, push_end;
};
struct ConsumerItem {
    Clock::time_point pop_start, pop_end, work_end;
};

// The backpressure picture: what the producer and the consumer do at each moment, and
// how full the buffer is.
//   producer  P = making an item   . = inside push, waiting for a free slot
//   consumer  C = working on one   . = inside pop, waiting for an item
//   buffer    items in the buffer (0-9)
void print_backpressure(const std::vector<ProducerItem>& made, const std::vector<ConsumerItem>& used,
                        int width) {
    auto t0 = made.front().make_start;
    auto t1 = std::max(made.back().push_end, used.back().work_end);
    double total = std::chrono::duration<double>(t1 - t0).count();
    std::string producer(std::size_t(width), ' '), consumer = producer, buffer = producer;
    for (int x = 0; x < width; ++x) {
        auto t = t0 + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(total * (x + 0.5) / width));
        for (auto& m : made) {
            if (t >= m.make_start && t < m.push_start) producer[std::size_t(x)] = 'P';
            if (t >= m.push_start && t < m.push_end) producer[std::size_t(x)] = '.';
        }
        for (auto& u : used) {
            if (t >= u.pop_start && t < u.pop_end) consumer[std::size_t(x)] = '.';
            if (t >= u.pop_end && t < u.work_end) consumer[std::size_t(x)] = 'C';
        }
        auto in = std::count_if(made.begin(), made.end(), [&](auto& m) { return m.push_end <= t; });
        auto out = std::count_if(used.begin(), used.end(), [&](auto& u) { return u.pop_end <= t; });
        buffer[std::size_t(x)] = char('0' + std::clamp<long>(in - out, 0, 9));
    }
    std::printf("  timeline 0 .. %.3f s, one column = %.2g ms\n", total, total / width * 1000);
    std::cout << "    producer |" << producer << "|  P making an item, . waiting in push (buffer full)\n"
              << "    consumer |" << consumer << "|  C using an item,  . waiting in pop (buffer empty)\n"
              << "    buffer   |" << buffer << "|  items waiting in the channel\n";
}

// A fast producer (0.25 ms per item) and a slow consumer (1 ms per item) joined by a
// channel of capacity 4. "Work" is a sleep: it stands for I/O or a computation we do
// not want on the CPU we measure with.
void backpressure_timeline(course::Lesson& lesson) {
    constexpr int items = 24;
    constexpr std::size_t capacity = 4;
    constexpr std::chrono::microseconds make_time = 250us, use_time = 1000us;
    Channel<int> channel(capacity);
    std::vector<ProducerItem> made(items);
    std::vector<ConsumerItem> used;
    used.reserve(items);

    course::Stopwatch watch;
    std::jthread producer([&] {
        for (int i = 0; i < items; ++i) {
            made[std::size_t(i)].make_start = Clock::now();
            std::this_thread::sleep_for(make_time);
            made[std::size_t(i)].push_start = Clock::now();
            channel.push(i);   // blocks while 4 items wait: the consumer sets the pace
            made[std::size_t(i)].push_end = Clock::now();
        }
        channel.close();
    });
    for (;;) {
        ConsumerItem u;
        u.pop_start = Clock::now();
        auto item = channel.pop();
        u.pop_end = Clock::now();
        if (!item) break;
        std::this_thread::sleep_for(use_time);
        u.work_end = Clock::now();
        used.push_back(u);
    }
    producer.join();   // made[] is complete only after the producer has finished
    double seconds = watch.seconds();

    // Bound: the consumer is the slower stage, so nothing can beat one make (to get
    // the first item) plus every item's use, back to back.
    double bound = std::chrono::duration<double>(make_time + items * use_time).count();
    course::ResultTable table("backpressure");
    table.add({.variant = "capacity 4", .n = std::size_t(items), .seconds = seconds, .bound_seconds = bound,
               .bound = "slowest stage", .workers = 2, .ok = used.size() == std::size_t(items)});
    lesson.report(table);
    print_backpressure(made, used, 64);
    long waited = 0;
    for (auto& m : made) waited += long(std::chrono::duration_cast<std::chrono::microseconds>(m.push_end - m.push_start).count());
    lesson.say("  The producer made " + std::to_string(capacity) +
               " items ahead, then every push waited for a pop: " + std::to_string(waited / 1000) +
               " ms of its time went into waiting. The buffer never holds more than its capacity;");
    lesson.say("  the fast stage is slowed to the slow stage's pace instead of filling memory.");
}

// Throughput: one producer pushes n ints, one consumer pops them, on two threads.
double spsc_seconds(std::size_t capacity, std::size_t n, int repeats, bool& ok) {
    return course::best_of(repeats, [&] {
        Channel<int> channel(capacity);
        std::jthread producer([&] {
            for (std::size_t i = 0; i < n; ++i) channel.push(int(i));
            channel.close();
        });
        long long sum = 0;
        std::size_t count = 0;
        while (auto item = channel.pop()) {
            sum += *item;
            ++count;
        }
        ok = count == n && sum == (long long)(n) * (long long)(n - 1) / 2;
    });
}

}  // namespace

void backpressure_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("1. One producer, one consumer, a bounded buffer: backpressure");
    lesson.say("A producer 4x faster than its consumer, joined by a channel of capacity 4.");
    backpressure_timeline(lesson);

    lesson.say("\nThroughput: " + std::to_string(s.items) +
               " ints through the channel, one producer thread, one consumer thread.");
    lesson.say("Bound: the same items pushed and popped by ONE thread through the same channel (never a");
    lesson.say("wait, the mutex uncontended). One mutex serialises every push and pop, so two threads");
    lesson.say("cannot beat that; what they lose beyond it is the cost of handing items across threads.");
    lesson.say("Capacity 1 hands over every item with a sleep and a wake-up, so it runs n/50 items;");
    lesson.say("capacity 16 runs n/5.");
    course::ResultTable table("spsc-throughput");
    std::vector<std::size_t> capacities{1, 16, s.capacity};
    for (auto capacity : capacities) {
        std::size_t n = capacity == 1    ? std::max<std::size_t>(s.items / 50, 1000)
                        : capacity <= 16 ? std::max<std::size_t>(s.items / 5, 1000)
                                         : s.items;
        double reference = one_thread_channel_seconds(n, s.repeats);
        bool ok = false;
        double seconds = spsc_seconds(capacity, n, s.repeats, ok);
        auto& row = table.add({.variant = "Channel capacity " + std::to_string(capacity), .n = n,
                               .seconds = seconds, .bound_seconds = reference, .bound = "1-thread push+pop",
                               .workers = 2, .ok = ok});
        row.extra["capacity"] = capacity;
    }
    lesson.report(table);
    for (auto& row : table.rows()) lesson.say("  " + row.variant + ": " + rate(row.n, row.seconds));
    lesson.say("  the bound, one thread pushing and popping: " +
               rate(s.items, one_thread_channel_seconds(s.items, s.repeats)));
    lesson.say("  for scale, a std::deque push_back + pop_front on one thread, no lock at all: " +
               rate(s.items, deque_reference_seconds(s.items, s.repeats)));
    double achieved = table.rows().back().items_per_second();
    lesson.say(std::string("  target: >= 5 M items/s at capacity ") + std::to_string(s.capacity) + ": " +
               (achieved >= 5e6 ? "met" : "NOT met on this run"));
    lesson.say("  A bigger buffer lets each side run many items between two waits: fewer wake-ups");
    lesson.say("  (futex system calls) per item.");
}

}  // namespace lesson04
