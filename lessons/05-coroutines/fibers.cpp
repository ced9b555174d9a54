// Section 7: Boost.Fiber. The original experiment's five waits (3, 1, 3, 2, 1 units) as
// fibers on ONE thread, then as five threads. A fiber's code blocks like a thread's
// (this_fiber::sleep_for, no co_await), but underneath it yields like a coroutine: the
// fiber scheduler of this thread switches to another fiber's stack.
//
// Boost.Fiber switches stacks behind the sanitizers' backs (Debian's Boost.Context is not
// built for them), so under ASan/TSan this section is skipped with a note: fibers are kept
// out of sanitizer runs.
#include <cstdio>
#include <thread>
#include <vector>

#include "functional.hpp"
#include "parts.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LESSON05_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LESSON05_SANITIZED 1
#endif
#endif

#if !defined(LESSON05_SANITIZED)
#include <boost/fiber/all.hpp>
#endif

namespace lesson05 {

using course::Clock;

void fibers_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("7. Boost.Fiber: the same five waits as fibers on one thread, and as threads");
#if defined(LESSON05_SANITIZED)
    (void)s;
    lesson.say("Skipped in this sanitizer build: Boost.Fiber switches stacks behind the sanitizers' backs.");
#else
    auto delays = course::functional::delays_from_urls(original_request_urls());
    int longest = 0;
    for (int d : delays) longest = std::max(longest, d);
    course::Recorder fiber_rec, thread_rec;
    const auto main_thread = std::this_thread::get_id();
    bool one_thread = true;

    course::Stopwatch watch;
    {
        std::vector<boost::fibers::fiber> fibers;
        for (std::size_t i = 0; i < delays.size(); ++i)
            fibers.emplace_back([&, i] {
                auto start = Clock::now();
                boost::this_fiber::sleep_for(delays[i] * s.unit());   // blocks this fiber, not the thread
                one_thread = one_thread && std::this_thread::get_id() == main_thread;
                fiber_rec.record_on("fiber " + std::to_string(i), "wait", start, Clock::now());
            });
        for (auto& f : fibers) f.join();   // main's own fiber yields to the others until each ends
    }
    double fibers_s = watch.seconds();

    watch.restart();
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < delays.size(); ++i)
            threads.emplace_back([&, i] {
                auto span = thread_rec.span("wait");
                std::this_thread::sleep_for(delays[i] * s.unit());
            });
    }
    double threads_s = watch.seconds();

    double bound = longest * s.unit_ms / 1000.0;
    course::ResultTable table("fibers");
    table.add({.variant = "5 fibers on one thread", .n = delays.size(), .seconds = fibers_s, .bound_seconds = bound,
               .bound = "max delay", .workers = 1, .ok = one_thread});
    table.add({.variant = "5 threads", .n = delays.size(), .seconds = threads_s, .bound_seconds = bound,
               .bound = "max delay", .workers = unsigned(delays.size())});
    lesson.report(table);
    lesson.say("fibers (all on the main thread):");
    lesson.timeline(fiber_rec, "fibers/fibers", 60);
    lesson.say("  Stackful (a fiber, a thread) vs stackless (a C++20 coroutine): a fiber has its own stack, so");
    lesson.say("  any function it calls may suspend it, deep inside ordinary code; a coroutine suspends only at");
    lesson.say("  its own co_await, and every caller up the chain must be a coroutine too. Fibers suit blocking-");
    lesson.say("  style code made cooperative (no colouring of functions); coroutines cost a small frame instead");
    lesson.say("  of a stack, and Asio and Beast speak them natively. Threads are for running in parallel.");
#endif
}

}  // namespace lesson05
