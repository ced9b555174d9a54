// Sections 1 and 2: an event loop small enough to read, the same schedule on Asio's
// io_context, and what co_await does on that loop (plus Generator<T> and co_yield).
#include <coroutine>
#include <cstdio>
#include <deque>
#include <functional>
#include <iostream>
#include <memory>
#include <queue>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "parts.hpp"

namespace lesson05 {

using course::Clock;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

// ------------------------------------------------------------------ the loop

// An event loop: a queue of ready work and a heap of timers, run by ONE thread.
// Nothing here is thread-safe, and nothing needs to be: only the loop's thread touches it.
class TinyLoop {
public:
    using Callback = std::function<void()>;

    void post(Callback f) { ready_.push_back(std::move(f)); }
    void call_at(Clock::time_point due, Callback f) { timers_.push({due, next_id_++, std::move(f)}); }
    void call_later(milliseconds delay, Callback f) { call_at(Clock::now() + delay, std::move(f)); }

    // Runs until there is nothing ready and no timer left.
    void run() {
        while (!ready_.empty() || !timers_.empty()) {
            // 1. Timers that are due become ready work, earliest first.
            while (!timers_.empty() && timers_.top().due <= Clock::now()) {
                ready_.push_back(timers_.top().callback);
                timers_.pop();
            }
            // 2. Run what is ready now; what these callbacks post waits for the next turn.
            std::deque<Callback> batch;
            batch.swap(ready_);
            for (auto& callback : batch) callback();
            // 3. Nothing ready: sleep until the next timer is due. (A real loop sleeps in
            //    epoll_wait with that timeout, so a socket becoming ready wakes it too.)
            if (ready_.empty() && !timers_.empty()) std::this_thread::sleep_until(timers_.top().due);
        }
    }

private:
    struct Timer {
        Clock::time_point due;
        unsigned long id;   // ties keep the order in which they were set
        Callback callback;
        bool operator>(const Timer& other) const { return due != other.due ? due > other.due : id > other.id; }
    };
    std::deque<Callback> ready_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
    unsigned long next_id_ = 0;
};

// ------------------------------------------------------------------ section 1's schedule

// Three tasks, each "work, sleep, work": written as callbacks, the second half of a task
// is a callback the first half hands to the loop's timer heap, due `sleep` after the
// schedule's start (fixed times, so a busy machine cannot change the order).
struct Step {
    const char* task;
    milliseconds sleep;
};
constexpr Step schedule[] = {{"A", 90ms}, {"B", 30ms}, {"C", 60ms}};
constexpr milliseconds work_time = 5ms;

// A short computation (a spin, not a sleep: it holds the loop's thread).
void work(course::Recorder& rec, const std::string& name, std::vector<std::string>& log) {
    auto span = rec.span(name);
    auto end = Clock::now() + work_time;
    while (Clock::now() < end) {
    }
    log.push_back(name);
}

double run_on_tiny_loop(course::Recorder& rec, std::vector<std::string>& log) {
    TinyLoop loop;
    course::Stopwatch watch;
    const auto start = Clock::now();
    for (const Step& step : schedule)
        loop.post([&, step] {
            work(rec, std::string(step.task) + " part 1", log);
            loop.call_at(start + step.sleep, [&, step] { work(rec, std::string(step.task) + " part 2", log); });
        });
    loop.run();
    return watch.seconds();
}

// The same schedule on Asio: post() is the ready queue, a steady_timer an entry of the
// timer heap, and run() the loop above (with epoll where we sleep).
double run_on_io_context(course::Recorder& rec, std::vector<std::string>& log) {
    boost::asio::io_context io;
    course::Stopwatch watch;
    const auto start = Clock::now();
    for (const Step& step : schedule)
        boost::asio::post(io, [&, step] {
            work(rec, std::string(step.task) + " part 1", log);
            auto timer = std::make_shared<boost::asio::steady_timer>(io, start + step.sleep);
            timer->async_wait([&, step, timer](boost::system::error_code) {   // the handler keeps its timer alive
                work(rec, std::string(step.task) + " part 2", log);
            });
        });
    io.run();   // returns when no work is left: nothing ready, no timer, no socket waiting
    return watch.seconds();
}

// ------------------------------------------------------------------ section 2: co_await

// The smallest coroutine type there is: starts at once, nobody waits for its end, its
// frame frees itself when the body finishes. (Asio's awaitable<T> is a richer version.)
struct Detached {
    struct promise_type {
        Detached get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() { std::terminate(); }
    };
};

struct EventLog {
    Clock::time_point start = Clock::now();
    void say(const std::string& who, const std::string& what) const {
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::printf("  %6.1f ms  %-6s %s\n", ms, who.c_str(), what.c_str());
    }
};

// `co_await SleepOn{loop, 30ms, ...}` is an awaitable written by hand. The compiler turns
// the co_await into: if (!await_ready()) { save the frame; await_suspend(handle);
// return to our caller/resumer; } ... later, when someone calls handle.resume():
// await_resume() and on with the body.
struct SleepOn {
    TinyLoop& loop;
    milliseconds delay;
    const EventLog& log;
    std::string who;

    bool await_ready() const noexcept { return false; }   // never ready at once: always suspend
    void await_suspend(std::coroutine_handle<> me) {
        log.say(who, "await_suspend: gives its handle to the loop's timer heap, returns");
        loop.call_later(delay, [me, who = who, &log = log] {
            log.say("loop", "timer of " + who + " due: calls handle.resume()");
            me.resume();   // runs the coroutine on the loop's thread until its next suspension
        });
    }
    void await_resume() const { log.say(who, "await_resume: running again"); }
};

// A named coroutine with its parameters by value (the loop and the log outlive it).
Detached sleeper(TinyLoop& loop, std::string who, milliseconds delay, const EventLog& log) {
    log.say(who, "starts, runs until its first co_await");
    // A named awaiter, not a temporary: g++ 12 mishandles a temporary awaiter that holds a
    // std::string (a compiler bug: it crashed in free() here). Keep g++ 12 under ASan.
    SleepOn sleep{loop, delay, log, who};
    co_await sleep;
    log.say(who, "finishes: its frame is freed");
}

// ------------------------------------------------------------------ Generator demos

struct Noisy {   // a local of a generator's body: says when the frame goes
    ~Noisy() { std::printf("  (the generator's frame is destroyed: its local Noisy says goodbye)\n"); }
};

course::coro::Generator<long> squares(long* made) {
    Noisy noisy;
    for (long i = 1;; ++i) {   // endless: only laziness makes this usable
        ++*made;
        co_yield i * i;
    }
}

course::coro::Generator<long> up_to(long n) {
    for (long i = 0; i < n; ++i) co_yield i;
}

}  // namespace

void event_loop_section(course::Lesson& lesson, const Settings& s) {
    (void)s;
    lesson.section("1. An event loop you can read: a ready queue and a timer heap, one thread");
    lesson.say("Three tasks, each: 5 ms of work, a sleep, 5 ms of work (A's second half due at 90 ms, B's at");
    lesson.say("30 ms, C's at 60 ms). Written as callbacks: a task's second half is a callback it leaves in the");
    lesson.say("loop's timer heap.");
    course::Recorder tiny_rec, asio_rec;
    std::vector<std::string> tiny_log, asio_log;
    double tiny = run_on_tiny_loop(tiny_rec, tiny_log);
    double asio = run_on_io_context(asio_rec, asio_log);
    // Bound: nothing ends before the last second half (due at 90 ms) has run, and one
    // thread cannot do the 6 pieces of work in less than their sum either.
    double chain = std::chrono::duration<double>(90ms + work_time).count();   // A's second half is due at 90 ms
    double all_work = std::chrono::duration<double>(6 * work_time).count();
    double bound = std::max(chain, all_work);
    course::ResultTable table("event-loop");
    table.add({.variant = "TinyLoop (40 lines)", .n = 3, .seconds = tiny, .bound_seconds = bound,
               .bound = "last due + work", .workers = 1, .ok = tiny_log.size() == 6});
    table.add({.variant = "boost::asio::io_context", .n = 3, .seconds = asio, .bound_seconds = bound,
               .bound = "last due + work", .workers = 1, .ok = asio_log == tiny_log});
    lesson.report(table);
    auto joined = [](const std::vector<std::string>& log) {
        std::string order;
        for (auto& entry : log) order += (order.empty() ? "" : ", ") + entry;
        return order;
    };
    if (asio_log == tiny_log) lesson.say("  order on both loops: " + joined(tiny_log) + "  (identical)");
    else lesson.say("  order on TinyLoop: " + joined(tiny_log) + "\n  order on Asio:     " + joined(asio_log));
    lesson.timeline(tiny_rec, "event-loop", 60);
    lesson.say("  One lane: every piece ran on the same thread, one at a time. The sleeps overlapped,");
    lesson.say("  because a sleeping task is only an entry in the timer heap; the work did not.");
    lesson.say("  io_context::run() is this loop: it runs ready handlers, moves due timers to ready, and");
    lesson.say("  sleeps in epoll_wait until the next timer or a socket is ready; it returns when no work is left.");
}

void co_await_section(course::Lesson& lesson, const Settings& s) {
    (void)s;
    lesson.section("2. What co_await does: suspend, the loop runs others, the loop resumes");
    {
        TinyLoop loop;
        EventLog log;
        log.say("main", "calls sleeper(A, 30 ms)");
        sleeper(loop, "A", 30ms, log);
        log.say("main", "sleeper(A) returned to main: A is suspended, its frame on the heap");
        sleeper(loop, "B", 10ms, log);
        log.say("main", "calls loop.run()");
        loop.run();
        log.say("main", "loop.run() returned: nothing ready, no timers left");
    }
    lesson.say("  Who resumes whom: a coroutine never resumes itself. co_await hands its handle to");
    lesson.say("  something (here a timer callback of the loop); that something calls resume(), on the");
    lesson.say("  loop's thread. Between the two, the thread runs other work: B finished before A.");

    lesson.say("");
    lesson.say("Generator<T>: co_yield hands a value to the consumer and suspends until it asks again.");
    long made = 0;
    std::string taken;
    for (long square : squares(&made)) {
        taken += std::to_string(square) + " ";
        if (made == 5) break;   // leaving the loop destroys the generator, and its frame
    }
    std::printf("  took %s from an endless generator; its body made %ld values (lazy: only what was asked)\n",
                taken.c_str(), made);
    const std::string text = "first line\nsecond line\nthird line\n";
    std::size_t n_lines = 0;
    bool views = true;
    for (std::string_view line : course::coro::lines(text)) {
        ++n_lines;
        views = views && line.data() >= text.data() && line.data() < text.data() + text.size();
    }
    std::printf("  lines() over a 3-line text: %zu lines, %s\n", n_lines,
                views ? "each a view into the text (nothing copied)" : "NOT views into the text");

    // What a resume costs: summing n values through a generator vs a plain loop.
    const long n = lesson.quick() ? 2'000'000 : 20'000'000;
    volatile long sink = 0;
    double plain = course::best_of(3, [&] {
        long sum = 0;
        for (long i = 0; i < n; ++i) sum += i;
        sink = sink + sum;
    });
    long generator_sum = 0;
    double generated = course::best_of(3, [&] {
        long sum = 0;
        for (long v : up_to(n)) sum += v;
        generator_sum = sum;
    });
    course::ResultTable table("generator");
    table.add({.variant = "plain for loop", .n = std::size_t(n), .seconds = plain, .bound_seconds = plain,
               .bound = "plain loop", .workers = 1});
    table.add({.variant = "Generator<long> (resume + co_yield)", .n = std::size_t(n), .seconds = generated,
               .bound_seconds = plain, .bound = "plain loop", .workers = 1,
               .ok = generator_sum == n * (n - 1) / 2});
    lesson.report(table);
    lesson.say("  " + human(generated / double(n)) + " per value: one resume() into the body and one suspension back,");
    lesson.say("  a function call's worth of work. (A plain loop is vectorised, so it is faster still.)");
}

}  // namespace lesson05
