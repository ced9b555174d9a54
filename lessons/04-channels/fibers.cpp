// Section 4: boost::fibers::buffered_channel and our Channel<T> on the same workload.
//
// Boost.Fiber switches stacks behind the sanitizers' backs (Debian's Boost.Context is
// not built for them), so under ASan/TSan this section is skipped with a note: keep
// Boost.Fiber out of sanitizer runs. Here the channel is used between two ordinary
// threads (each thread's main context is a fiber), no fiber scheduler of our own.
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "parts.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LESSON04_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LESSON04_SANITIZED 1
#endif
#endif

#if !defined(LESSON04_SANITIZED)
#include <boost/fiber/buffered_channel.hpp>
#endif

namespace lesson04 {

using course::channels::Channel;

#if !defined(LESSON04_SANITIZED)
namespace {

// `producers` threads each push n / producers ints, one consumer pops them all.
// Returns false if the sum is wrong (an item lost or doubled).
double fibers_seconds(std::size_t capacity, std::size_t n, unsigned producers, int repeats, bool& ok) {
    return course::best_of(repeats, [&] {
        boost::fibers::buffered_channel<int> channel(capacity);
        std::vector<std::thread> threads;
        std::atomic<unsigned> running{producers};
        for (unsigned p = 0; p < producers; ++p)
            threads.emplace_back([&, p] {
                for (std::size_t i = p; i < n; i += producers) channel.push(int(i));
                if (running.fetch_sub(1) == 1) channel.close();   // the last one closes
            });
        long long sum = 0;
        int item = 0;
        while (channel.pop(item) == boost::fibers::channel_op_status::success) sum += item;
        for (auto& t : threads) t.join();
        ok = sum == (long long)(n) * (long long)(n - 1) / 2;
    });
}

double ours_seconds(std::size_t capacity, std::size_t n, unsigned producers, int repeats, bool& ok) {
    return course::best_of(repeats, [&] {
        std::vector<std::function<void(Channel<int>&)>> jobs;
        for (unsigned p = 0; p < producers; ++p)
            jobs.push_back([p, n, producers](Channel<int>& out) {
                for (std::size_t i = p; i < n; i += producers) out.push(int(i));
            });
        auto channel = course::channels::merge(std::move(jobs), capacity);
        long long sum = 0;
        for (int item : *channel) sum += item;
        ok = sum == (long long)(n) * (long long)(n - 1) / 2;
    });
}

}  // namespace
#endif

void fibers_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("4. boost::fibers::buffered_channel vs our Channel<T>, same workload");
#if defined(LESSON04_SANITIZED)
    lesson.say("Skipped in this sanitizer build: Boost.Fiber switches stacks behind the sanitizers' backs.");
    (void)s;
#else
    // buffered_channel wants a power of two >= 2 and holds one item less than that.
    std::size_t fiber_capacity = 2;
    while (fiber_capacity < s.capacity + 1) fiber_capacity *= 2;
    lesson.say(std::to_string(s.items) + " ints, consumer on the main thread. Our Channel holds " +
               std::to_string(s.capacity) + "; buffered_channel(" + std::to_string(fiber_capacity) + ") holds " +
               std::to_string(fiber_capacity - 1) + " (a power of two, minus one).");
    lesson.say("Both run as plain threads; merge() starts ours, a counter closes the fiber channel.");
    double reference = one_thread_channel_seconds(s.items, s.repeats);
    course::ResultTable table("fibers-vs-channel");
    for (unsigned producers : {1u, s.producers}) {
        bool ok_f = false, ok_o = false;
        double fib = fibers_seconds(fiber_capacity, s.items, producers, s.repeats, ok_f);
        double ours = ours_seconds(s.capacity, s.items, producers, s.repeats, ok_o);
        std::string shape = producers == 1 ? " SPSC" : " " + std::to_string(producers) + "P1C";
        auto& a = table.add({.variant = "fibers::buffered_channel" + shape, .n = s.items, .seconds = fib,
                             .bound_seconds = reference, .bound = "1-thread push+pop", .workers = producers + 1,
                             .ok = ok_f});
        a.extra["capacity"] = fiber_capacity - 1;
        a.extra["producers"] = producers;
        auto& b = table.add({.variant = "course Channel" + shape, .n = s.items, .seconds = ours,
                             .bound_seconds = reference, .bound = "1-thread push+pop", .workers = producers + 1,
                             .ok = ok_o});
        b.extra["capacity"] = s.capacity;
        b.extra["producers"] = producers;
        b.extra["vs_fibers"] = ours / fib;
    }
    lesson.report(table);
    auto& rows = table.rows();
    for (std::size_t i = 0; i + 1 < rows.size(); i += 2) {
        char ratio[64];
        std::snprintf(ratio, sizeof ratio, "%.2fx the fiber channel's time", rows[i + 1].seconds / rows[i].seconds);
        lesson.say("  " + rows[i].variant + ": " + rate(rows[i].n, rows[i].seconds));
        lesson.say("  " + rows[i + 1].variant + ": " + rate(rows[i + 1].n, rows[i + 1].seconds) + ", " + ratio);
    }
    lesson.say(std::string("  target: within 2x of buffered_channel (SPSC): ") +
               (rows[1].seconds <= 2 * rows[0].seconds ? "met" : "NOT met on this run"));
    lesson.say("  buffered_channel is a fixed ring behind one spinlock: a contended lock spins (and yields)");
    lesson.say("  in user space. Ours is a deque behind a std::mutex with two condition variables: a");
    lesson.say("  contended lock or a wait sleeps in the kernel (futex) and must be woken by a system call.");
#endif
}

}  // namespace lesson04
