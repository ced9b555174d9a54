// Helpers for the tests of topic 02: ways to see concurrency without measuring time.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <cstring>
#include <mutex>
#include <thread>

#include "hang_watchdog.hpp"

#include <signal.h>
#include <unistd.h>

namespace tvp_test {

// A meeting point for `expected` threads that gives up after `limit` instead of waiting
// forever. If the work is really concurrent, every thread arrives and all return true.
// If it runs one piece at a time, the first arrival waits alone until the limit, gives
// up, and every later arrival returns false at once: the test fails fast, not by hanging.
class Rendezvous {
public:
    Rendezvous(int expected, std::chrono::seconds limit) : expected_(expected), limit_(limit) {}

    bool arrive_and_wait() {
        std::unique_lock lock(mutex_);
        ++arrived_;
        cv_.notify_all();
        bool met = cv_.wait_for(lock, limit_, [&] { return arrived_ >= expected_ || gave_up_; });
        if (!met || arrived_ < expected_) {
            gave_up_ = true;
            cv_.notify_all();
            return false;
        }
        return true;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int arrived_ = 0;
    const int expected_;
    const std::chrono::seconds limit_;
    bool gave_up_ = false;
};

// Runs body on a helper thread and waits at most `limit` for it. A body that does not
// finish by then is deadlocked: its threads cannot be joined or cancelled, so the only
// clean way out is to say so and end the test program (CTest reports the case failed).
template <class Body>
void finish_or_report_deadlock(std::chrono::seconds limit, const char* what, Body body) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::exception_ptr error;
    std::jthread runner([&] {
        try {
            body();
        } catch (...) {
            error = std::current_exception();
        }
        std::lock_guard lock(m);
        done = true;
        cv.notify_all();
    });
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, limit, [&] { return done; })) {
        std::fprintf(stderr, "DEADLOCK: %s did not finish within %lld s\n", what,
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(3);
    }
    lock.unlock();
    runner.join();
    if (error) std::rethrow_exception(error);
}

// A limit for a call that forks (process_map), where a helper thread to wait on would
// make the process multi-threaded at fork(): a SIGALRM after `limit` prints what did not
// finish and ends the test program (CTest reports the case failed) instead of hanging
// until the CTest timeout. Children do not inherit the alarm. One at a time.
class AlarmDeadline {
public:
    AlarmDeadline(std::chrono::seconds limit, const char* what) {
        std::snprintf(message_, sizeof message_, "HUNG: %s did not finish within %lld s\n", what,
                      static_cast<long long>(limit.count()));
        struct sigaction on_alarm {};
        on_alarm.sa_handler = &AlarmDeadline::report_and_exit;
        sigemptyset(&on_alarm.sa_mask);
        ::sigaction(SIGALRM, &on_alarm, &previous_);
        // The hang watchdog's own alarm is put back, minus the time spent here.
        watchdog_left_ = ::alarm(static_cast<unsigned>(limit.count()));
        started_ = std::chrono::steady_clock::now();
    }
    AlarmDeadline(const AlarmDeadline&) = delete;
    AlarmDeadline& operator=(const AlarmDeadline&) = delete;
    ~AlarmDeadline() {
        ::alarm(0);
        ::sigaction(SIGALRM, &previous_, nullptr);
        if (watchdog_left_ > 0) {
            auto spent = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
            ::alarm(std::max(1u, watchdog_left_ - std::min(watchdog_left_, unsigned(spent.count()))));
        }
    }

private:
    static void report_and_exit(int) {   // async-signal-safe: write, fork/exec the debugger, _exit
        ssize_t ignored = ::write(2, message_, std::strlen(message_));
        (void)ignored;
        course::stop_with_thread_stacks(true);
    }
    static inline char message_[256] = {};
    struct sigaction previous_ {};
    unsigned watchdog_left_ = 0;
    std::chrono::steady_clock::time_point started_;
};

}  // namespace tvp_test
