// Section 3: deadlock and starvation, the two ways locks go wrong.
//
//   thread A: lock(m1) ....... lock(m2)  waits for B ---+
//   thread B: lock(m2) ....... lock(m1)  waits for A <--+    a cycle: nobody moves again
//
// A deadlock needs a cycle of "holds one, waits for the next". std::mutex::lock cannot
// be cancelled, so a real deadlock is forever. To show one safely the threads here ask
// for their second lock with try_lock, once a millisecond, checking a stop token between
// tries; a watchdog that sees no progress within its limit reports "deadlocked" and asks
// them to stop. (std::timed_mutex::try_lock_for would read better, but g++ 12 builds it
// on pthread_mutex_clocklock, which ThreadSanitizer does not intercept: it then reports
// a false "unlock of an unlocked mutex", llvm/llvm-project#62623.) The fixes remove the cycle: std::scoped_lock takes both locks with
// a deadlock-avoiding algorithm, whatever order they are named in; lock ordering (always
// the lower one first) makes a cycle impossible; the exercise's Bank does the latter.
//
// Starvation is subtler: nothing is stuck, yet one thread hardly ever gets the lock.
// std::mutex is not fair: a thread that releases it and relocks at once usually wins
// against a waiter that must first be woken up.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>

#include "sections.hpp"
#include "tvp.hpp"

namespace tvp_lesson {
namespace {

using course::Clock;
using course::Measurement;
using course::Recorder;
using course::ResultTable;
using namespace std::chrono_literals;

// Both threads lock their first mutex, meet (so each surely holds one), then try for the
// second. Returns the seconds until both finished or the watchdog stopped them.
struct DeadlockOutcome {
    bool deadlocked = false;
    double seconds = 0;
};

DeadlockOutcome two_locks_opposite_order(std::chrono::milliseconds watchdog_limit, Recorder& rec) {
    std::mutex m1, m2;
    std::latch both_hold_one(2);
    std::mutex done_mutex;
    std::condition_variable done_cv;
    int finished = 0;   // threads that got both locks (guarded by done_mutex)

    auto worker = [&](std::stop_token stop, std::mutex& first, std::mutex& second,
                      std::string name_first, std::string name_second) {
        auto t0 = Clock::now();
        std::unique_lock hold(first);
        rec.record("lock " + name_first, t0, Clock::now());
        both_hold_one.arrive_and_wait();
        auto t1 = Clock::now();
        std::unique_lock want(second, std::defer_lock);
        // Try, then look at the stop token, then try again: a plain lock() would never return.
        while (!want.try_lock()) {
            if (stop.stop_requested()) {
                rec.record("wait for " + name_second + " (gave up)", t1, Clock::now());
                return;
            }
            std::this_thread::sleep_for(1ms);
        }
        rec.record("got " + name_second, t1, Clock::now());
        std::lock_guard lock(done_mutex);
        ++finished;
        done_cv.notify_all();
    };

    course::Stopwatch watch;
    std::jthread a(worker, std::ref(m1), std::ref(m2), "m1", "m2");
    std::jthread b(worker, std::ref(m2), std::ref(m1), "m2", "m1");
    // The watchdog: progress means a thread got both locks. None within the limit: deadlock.
    std::unique_lock lock(done_mutex);
    bool progressed = done_cv.wait_for(lock, watchdog_limit, [&] { return finished == 2; });
    lock.unlock();
    DeadlockOutcome out{!progressed, watch.seconds()};
    a.request_stop();
    b.request_stop();
    a.join();   // both notice within a millisecond and release what they hold
    b.join();
    return out;
}

// Each of two threads takes both locks `rounds` times, naming them in opposite orders,
// through `take_both`. Returns the seconds taken; shared must end at 2 * rounds.
template <class TakeBoth>
double two_threads_both_locks(std::uint64_t rounds, TakeBoth take_both, std::uint64_t& shared) {
    std::mutex m1, m2;
    std::latch start(2);
    course::Stopwatch watch;
    {
        std::jthread a([&] {
            start.arrive_and_wait();
            for (std::uint64_t i = 0; i < rounds; ++i) take_both(m1, m2, shared);
        });
        std::jthread b([&] {
            start.arrive_and_wait();
            for (std::uint64_t i = 0; i < rounds; ++i) take_both(m2, m1, shared);
        });
    }
    return watch.seconds();
}

void deadlock(course::Lesson& lesson, const Settings& s) {
    const auto limit = s.quick ? 100ms : 300ms;
    lesson.say("Two threads, two locks, opposite orders; a watchdog gives them " +
               std::to_string(limit.count()) + " ms to make progress.");
    Recorder rec;
    DeadlockOutcome d = two_locks_opposite_order(limit, rec);
    lesson.say(d.deadlocked ? "watchdog: deadlocked: A holds m1 and waits for m2, B holds m2 and waits for m1;"
                              " both asked to give up, both joined."
                            : "watchdog: no deadlock this time (the threads got through)");
    lesson.timeline(rec, "deadlock");

    const std::uint64_t rounds = s.quick ? 20'000 : 200'000;
    std::uint64_t shared = 0;
    // The bound: one thread taking both locks 2 * rounds times, with nobody to wait for.
    double serial = course::best_of(3, [&] {
        std::mutex m1, m2;
        for (std::uint64_t i = 0; i < 2 * rounds; ++i) {
            std::scoped_lock both(m1, m2);
            ++shared;
        }
    });

    ResultTable table("deadlock");
    Measurement row{.variant = "opposite order", .n = 2, .seconds = d.seconds,
                    .bound_seconds = std::chrono::duration<double>(limit).count(), .bound = "watchdog limit",
                    .workers = 2, .ok = !d.deadlocked};
    row.extra["deadlocked"] = d.deadlocked;
    table.add(row);

    shared = 0;
    double t = two_threads_both_locks(rounds, [](std::mutex& x, std::mutex& y, std::uint64_t& v) {
        std::scoped_lock both(x, y);   // names them in either order: never deadlocks
        ++v;
    }, shared);
    table.add({.variant = "std::scoped_lock", .n = 2 * rounds, .seconds = t, .bound_seconds = serial,
               .bound = "1 thread alone", .workers = 2, .ok = shared == 2 * rounds});

    shared = 0;
    t = two_threads_both_locks(rounds, [](std::mutex& x, std::mutex& y, std::uint64_t& v) {
        // Lock ordering: whatever order the caller names them in, take the one at the
        // lower address first. Every thread climbs the same ladder: no cycle.
        std::mutex* lo = std::less<std::mutex*>{}(&x, &y) ? &x : &y;
        std::mutex* hi = lo == &x ? &y : &x;
        std::lock_guard first(*lo);
        std::lock_guard second(*hi);
        ++v;
    }, shared);
    table.add({.variant = "lock ordering", .n = 2 * rounds, .seconds = t, .bound_seconds = serial,
               .bound = "1 thread alone", .workers = 2, .ok = shared == 2 * rounds});

    // The exercise's Bank: transfers in both directions between the same two accounts,
    // from every worker thread at once.
    course::tvp::Bank bank(2, 1'000'000);
    const std::uint64_t transfers = rounds;
    double bank_serial = course::best_of(3, [&] {
        for (std::uint64_t i = 0; i < transfers; ++i) bank.transfer(i % 2, 1 - i % 2, 1);
    });
    std::latch go(s.workers);
    course::Stopwatch watch;
    {
        std::vector<std::jthread> tellers;
        for (unsigned w = 0; w < s.workers; ++w)
            tellers.emplace_back([&, w] {
                go.arrive_and_wait();
                for (std::uint64_t i = w; i < transfers; i += s.workers) bank.transfer(i % 2, 1 - i % 2, 1);
            });
    }
    t = watch.seconds();
    table.add({.variant = "tvp::Bank transfers", .n = transfers, .seconds = t, .bound_seconds = bank_serial,
               .bound = "1 thread alone", .workers = s.workers, .ok = bank.total() == 2'000'000});
    lesson.report(table);
    lesson.say("The fixed versions finish with the right count; they are slower than one thread alone because the");
    lesson.say("two threads want the same two locks all the time: correct, but not parallel.");
}

// Keeps the calling thread on one core, so the greedy and the polite thread below really
// run side by side (the scheduler might otherwise put them on one core, where they take
// turns and the unfairness hides). Best effort: failure just leaves the thread unpinned.
void pin_to_core(unsigned core) {
    if (std::thread::hardware_concurrency() < 2) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core % std::thread::hardware_concurrency(), &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// A fair lock: first come, first served. Take a ticket, wait until it is called.
class TicketLock {
public:
    void lock() {
        unsigned mine = next_.fetch_add(1, std::memory_order_relaxed);
        for (unsigned now = serving_.load(std::memory_order_acquire); now != mine;
             now = serving_.load(std::memory_order_acquire))
            serving_.wait(now);   // sleeps until serving_ changes (C++20 atomic wait)
    }
    void unlock() {
        serving_.fetch_add(1, std::memory_order_release);
        serving_.notify_all();
    }

private:
    std::atomic<unsigned> next_{0}, serving_{0};
};

struct StarvationOutcome {
    double max_wait = 0, mean_wait = 0;
    std::uint64_t greedy_turns = 0;
    std::uint64_t max_cut_in = 0;   // the most greedy turns during one polite wait
    int polite_turns = 0;
};

// A greedy thread holds the lock for `hold` of busy work, releases it and grabs it again
// at once, until the polite thread has had `attempts` turns or `give_up` has passed.
// The polite thread asks for the lock once a millisecond and records how long it waited,
// and how many times the greedy thread got the lock meanwhile (cut in line). Waits in
// time depend on the machine's load (a holder that loses its core keeps everybody
// waiting); the cut-in count shows the lock's fairness itself: a FIFO lock allows at
// most one (the turn under way when the polite thread asked).
template <class Lock>
StarvationOutcome starve(int attempts, std::chrono::microseconds hold, std::chrono::milliseconds give_up) {
    Lock lock;
    std::atomic<bool> polite_done{false};
    std::atomic<std::uint64_t> greedy_turns{0};
    std::latch start(2);
    std::vector<double> waits;
    std::uint64_t max_cut_in = 0;
    {
        std::jthread greedy([&] {
            pin_to_core(0);
            start.arrive_and_wait();
            auto deadline = Clock::now() + give_up;
            while (!polite_done.load(std::memory_order_relaxed) && Clock::now() < deadline) {
                std::lock_guard g(lock);
                auto until = Clock::now() + hold;
                while (Clock::now() < until) {
                }   // busy work inside the critical section
                greedy_turns.fetch_add(1, std::memory_order_relaxed);
            }
        });
        std::jthread polite([&] {
            pin_to_core(1);
            start.arrive_and_wait();
            for (int i = 0; i < attempts; ++i) {
                auto asked = Clock::now();
                std::uint64_t turns_before = greedy_turns.load();
                {
                    std::lock_guard g(lock);
                    waits.push_back(std::chrono::duration<double>(Clock::now() - asked).count());
                    max_cut_in = std::max(max_cut_in, greedy_turns.load() - turns_before);
                }
                std::this_thread::sleep_for(1ms);
            }
            polite_done = true;
        });
    }
    StarvationOutcome out;
    out.greedy_turns = greedy_turns.load();
    out.polite_turns = int(waits.size());
    out.max_cut_in = max_cut_in;
    for (double w : waits) {
        out.max_wait = std::max(out.max_wait, w);
        out.mean_wait += w / double(waits.size());
    }
    return out;
}

void starvation(course::Lesson& lesson, const Settings& s) {
    const int attempts = s.quick ? 20 : 100;
    const auto hold = 50us;
    const auto give_up = s.quick ? 300ms : 2000ms;
    lesson.say("\nStarvation: a greedy thread relocks at once after each " + std::to_string(hold.count()) +
               " us critical section;");
    lesson.say("a polite thread asks once a millisecond, " + std::to_string(attempts) +
               " times. Bound: one critical section (a fair lock's worst wait).");
    ResultTable table("starvation");
    auto add = [&](const char* variant, const StarvationOutcome& o) {
        Measurement row{.variant = variant, .n = std::size_t(o.polite_turns), .seconds = o.max_wait,
                        .bound_seconds = std::chrono::duration<double>(hold).count(),
                        .bound = "1 critical section", .workers = 2, .ok = o.polite_turns == attempts};
        row.extra["max_wait_seconds"] = o.max_wait;
        row.extra["mean_wait_seconds"] = o.mean_wait;
        row.extra["greedy_turns"] = o.greedy_turns;
        row.extra["max_cut_in"] = o.max_cut_in;
        table.add(row);
        char line[200];
        std::snprintf(line, sizeof line,
                      "  %-20s polite %3d/%d turns, wait max %7.3f ms mean %7.3f ms; greedy %5llu turns, cut in up to %llu times",
                      variant, o.polite_turns, attempts, o.max_wait * 1e3, o.mean_wait * 1e3,
                      static_cast<unsigned long long>(o.greedy_turns), static_cast<unsigned long long>(o.max_cut_in));
        return std::string(line);
    };
    std::string unfair = add("std::mutex (unfair)", starve<std::mutex>(attempts, hold, give_up));
    std::string fair = add("ticket lock (FIFO)", starve<TicketLock>(attempts, hold, give_up));
    lesson.say(unfair);
    lesson.say(fair);
    lesson.report(table);
    lesson.say("seconds = the polite thread's longest wait. A FIFO lock lets the greedy thread cut in at most");
    lesson.say("once per wait; std::mutex lets it cut in again and again. On a busy machine both waits also");
    lesson.say("grow whenever the lock holder loses its core.");
}

}  // namespace

void lock_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("3. Deadlock and starvation");
    deadlock(lesson, s);
    starvation(lesson, s);
}

}  // namespace tvp_lesson
