// Section 6: do not block the loop. 100 coroutines wait on timers due over the first
// ~110 ms; one more coroutine computes for 200 ms. On the loop's thread, that computation
// holds every timer back (cooperative: nobody can take the thread from it). Posted to a
// compute pool and awaited, it runs on another thread while the loop keeps firing timers,
// and the awaiting coroutine is resumed back on the loop when the result is ready: the
// original material's zarr issue calls this "separate I/O and compute pools".
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "parts.hpp"

namespace lesson05 {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using course::Clock;
using namespace std::chrono_literals;

namespace {

constexpr int timers = 100;
constexpr auto first_due = 10ms;
constexpr auto spacing = 1ms;
constexpr auto compute_time = 200ms;

struct Fired {
    std::vector<double> lateness;   // seconds after its due time that each timer ran
    Clock::time_point last{};
};

awaitable<void> timer_task(Clock::time_point due, Fired* fired, course::Recorder* rec) {
    asio::steady_timer timer(co_await asio::this_coro::executor, due);
    co_await timer.async_wait(use_awaitable);
    auto now = Clock::now();
    fired->lateness.push_back(std::chrono::duration<double>(now - due).count());
    fired->last = std::max(fired->last, now);
    rec->record_on("timers", "timer", now, now + 1ms);
}

// The computation runs inside this coroutine, on whatever thread resumes it; its lane of
// the timeline says which.
awaitable<std::uint64_t> compute(course::Recorder* rec, std::thread::id loop_thread) {
    auto start = Clock::now();
    auto hash = hash_for(compute_time);
    rec->record_on(std::this_thread::get_id() == loop_thread ? "loop thread" : "pool thread", "hash 200 ms", start,
                   Clock::now());
    co_return hash;
}

// On the loop: co_await of a coroutine runs it right here, on the loop's thread.
awaitable<void> compute_on_loop(course::Recorder* rec, std::uint64_t* out) {
    *out = co_await compute(rec, std::this_thread::get_id());
}

// On the pool: co_spawn starts it on a pool thread; use_awaitable resumes us on the loop's
// executor (our own) when it is done. The loop is free in between.
awaitable<void> compute_on_pool(asio::thread_pool* pool, course::Recorder* rec, std::uint64_t* out) {
    *out = co_await asio::co_spawn(pool->get_executor(), compute(rec, std::this_thread::get_id()), use_awaitable);
}

struct LoopRun {
    double seconds = 0, mean_late = 0, max_late = 0;
    std::size_t fired = 0;
};

LoopRun run(bool use_pool, course::Recorder& rec) {
    asio::io_context io(1);
    asio::thread_pool pool(1);
    Fired fired;
    std::uint64_t hash = 0;
    auto start = Clock::now();
    for (int i = 0; i < timers; ++i) asio::co_spawn(io, timer_task(start + first_due + i * spacing, &fired, &rec), asio::detached);
    if (use_pool) asio::co_spawn(io, compute_on_pool(&pool, &rec, &hash), asio::detached);
    else asio::co_spawn(io, compute_on_loop(&rec, &hash), asio::detached);
    io.run();
    pool.join();
    LoopRun r;
    r.fired = fired.lateness.size();
    r.seconds = std::chrono::duration<double>(fired.last - start).count();
    if (r.fired) {
        r.mean_late = std::accumulate(fired.lateness.begin(), fired.lateness.end(), 0.0) / double(r.fired);
        r.max_late = *std::max_element(fired.lateness.begin(), fired.lateness.end());
    }
    return r;
}

}  // namespace

void blocking_section(course::Lesson& lesson, const Settings& s) {
    (void)s;
    lesson.section("6. Do not block the loop: one computing coroutine delays every timer");
    lesson.say("100 coroutines wait on timers due 10..109 ms from the start; one coroutine hashes for 200 ms.");
    course::Recorder on_loop_rec, on_pool_rec;
    auto on_loop = run(false, on_loop_rec);
    auto on_pool = run(true, on_pool_rec);
    double bound = std::chrono::duration<double>(first_due + (timers - 1) * spacing).count();
    course::ResultTable table("do-not-block");
    auto& a = table.add({.variant = "hash on the loop's thread", .n = std::size_t(timers), .seconds = on_loop.seconds,
                         .bound_seconds = bound, .bound = "last timer due", .workers = 1,
                         .ok = on_loop.fired == std::size_t(timers)});
    a.extra["mean_lateness_s"] = on_loop.mean_late;
    a.extra["max_lateness_s"] = on_loop.max_late;
    auto& b = table.add({.variant = "hash co_awaited on a thread_pool", .n = std::size_t(timers), .seconds = on_pool.seconds,
                         .bound_seconds = bound, .bound = "last timer due", .workers = 2,
                         .ok = on_pool.fired == std::size_t(timers)});
    b.extra["mean_lateness_s"] = on_pool.mean_late;
    b.extra["max_lateness_s"] = on_pool.max_late;
    lesson.report(table);
    std::printf("  timers late by: on the loop mean %s, max %s;  with the pool mean %s, max %s\n",
                human(on_loop.mean_late).c_str(), human(on_loop.max_late).c_str(), human(on_pool.mean_late).c_str(),
                human(on_pool.max_late).c_str());
    lesson.say("hash on the loop's thread (timers fire on the loop's thread too):");
    lesson.timeline(on_loop_rec, "do-not-block/on-loop", 60);
    lesson.say("hash on a pool thread:");
    lesson.timeline(on_pool_rec, "do-not-block/on-pool", 60);
    lesson.say("  Cooperative multitasking: a coroutine gives the thread back only at a co_await. 200 ms of");
    lesson.say("  hashing without one is 200 ms in which no timer fires and no socket is read. CPU work belongs");
    lesson.say("  on a compute pool; the coroutine awaits it and carries on on the loop.");
}

}  // namespace lesson05
