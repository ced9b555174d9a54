// Lesson 05: coroutines. One thread, one event loop, thousands of waits.
//
//              ┌──────────────────── one thread ─────────────────────┐
//              │  event loop (io_context::run)                       │
//              │    ready queue:  [resume A] [resume C] [callback]   │
//              │    timers:       ⏱ +200 ms → B     ⏱ +1 s → D       │
//              │    sockets:      A reads, C connects (epoll)        │
//              └──┬──────────────┬──────────────┬──────────────┬─────┘
//                 ▼              ▼              ▼              ▼
//          coroutine A    coroutine B    coroutine C    coroutine D   each a small frame on
//          co_await read  co_await timer co_await conn  co_await ...  the heap, suspended at
//                                                                     its co_await; the loop
//   gathered requests:                                                resumes it when what it
//     request 0 ████████████████████████████  (3 units)               waits for is ready
//     request 1 █████████                     (1 unit)
//     request 2 ████████████████████████████  (3 units)    all in flight at once:
//     request 3 ███████████████████           (2 units)    total = the longest,
//     request 4 █████████                     (1 unit)     not the sum
//
// Sections: 1. an event loop you can read (ready queue + timer heap), then io_context.
// 2. what co_await does: a hand-made awaitable on that loop; Generator<T> and co_yield.
// 3. the original material's experiment: 5 delayed requests, one after another vs gathered.
// 4. scale on one thread: 1,000 and 10,000 requests; memory and handoff cost per task.
// 5. failures in a gather, and a timeout that really cancels.
// 6. do not block the loop: a computing coroutine delays every timer; a compute pool.
// 7. Boost.Fiber: the same waits as stackful fibers on one thread.
#include <cstdlib>
#include <string>

#include "parts.hpp"

int main(int argc, char** argv) {
    // Section 4 runs its server in a child process: this program, started with this flag.
    if (argc == 2 && std::string(argv[1]) == "--serve-for-scale") return lesson05::serve_for_scale();
    course::Lesson lesson("05-coroutines", "event loops, co_await, Asio coroutines and fibers");
    lesson05::Settings s;
    lesson.add_options()
        ("unit-ms", po::value(&s.unit_ms), "milliseconds per delay unit of the original experiment (default 100)")
        ("n", po::value(&s.n), "requests of the scale section (default 1,000 and 10,000; --quick 1,000)")
        ("url", po::value(&s.url)->value_name("URL"),
         "use this server (plain http://host:port, with /delay/{ms} and /status/{code}) instead of the built-in one");
    return lesson.run(argc, argv, [&] {
        if (s.unit_ms <= 0) throw std::invalid_argument("--unit-ms must be positive");
        while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
        if (s.url.empty()) s.server = std::make_unique<course::LocalServer>();
        lesson.say("server: " + s.base() + (s.url.empty() ? " (built in, on loopback)" : " (--url)"));
        lesson05::event_loop_section(lesson, s);
        lesson05::co_await_section(lesson, s);
        lesson05::original_experiment_section(lesson, s);
        lesson05::scale_section(lesson, s);
        lesson05::failures_section(lesson, s);
        lesson05::blocking_section(lesson, s);
        lesson05::fibers_section(lesson, s);
    });
}
