// Bounded waits for the channel tests. A broken channel must make a case FAIL within
// seconds, with a sentence saying what did not happen, instead of hanging until the
// CTest timeout. Every call that may block (push, pop, join, a whole stream) runs on a
// Worker thread that the test waits for with a limit; no sleeps anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>   // gettid

#include "course_catch.hpp"
#include "hang_watchdog.hpp"

// A channel's error() prints as what it holds, not as {?}.
namespace Catch {
template <>
struct StringMaker<std::exception_ptr> {
    static std::string convert(const std::exception_ptr& error) {
        if (!error) return "nullptr (no error)";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            return std::string("exception_ptr(\"") + e.what() + "\")";
        } catch (...) {
            return "exception_ptr(not a std::exception)";
        }
    }
};
}  // namespace Catch

namespace channel_test {

// One wake-up (a push, a pop, a close, joining a few threads): generous for TSan.
inline constexpr std::chrono::milliseconds wake_limit{5000};
// A whole stream (80,000 items at capacity 0 take about 2 s under TSan).
inline constexpr std::chrono::milliseconds work_limit{20000};

// For a thread that stays blocked even after the channel was closed: it can neither be
// joined nor be left running (destroying a joinable std::thread calls std::terminate),
// so say what went wrong and end the test program; CTest reports the case failed.
// The stack of every thread is printed first, so `./course check` can say where each
// one waits.
[[noreturn]] inline void give_up(const std::string& what) {
    std::fprintf(stderr, "FAILED: %s\n(a thread is still blocked in the channel: ending the test program)\n",
                 what.c_str());
    std::fflush(stderr);
    course::stop_with_thread_stacks();
}

// The scheduler state of one thread of this process ('R' running, 'S' asleep in the
// kernel, e.g. in a futex wait), or '?' once the thread is gone.
inline char thread_state(pid_t tid) {
    std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return '?';
    auto close = line.rfind(')');   // the thread name may hold spaces and ')'
    return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
}

// A thread running one body. Its exception (if any) is kept and rethrown by finish().
// `release` frees the body if it is stuck (usually: close the channel); it is called only
// when a wait ran out. The destructor never leaves a thread running.
class Worker {
public:
    template <class Body>
    explicit Worker(Body body, std::function<void()> release = {})
        : release_(std::move(release)), thread_([this, body = std::move(body)]() mutable {
              tid_.store(::gettid());
              try {
                  body();
              } catch (...) {
                  error_ = std::current_exception();
              }
              body_done_.store(true);   // set before the lock below, which may sleep
              {
                  std::lock_guard lock(mutex_);
                  ended_ = true;
              }
              cv_.notify_all();
          }) {}

    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    ~Worker() {
        if (!thread_.joinable()) return;
        if (!ended_within(wake_limit)) {
            if (release_) release_();
            if (!ended_within(wake_limit)) give_up("a test thread was still blocked when its case ended");
        }
        thread_.join();
    }

    bool ended_within(std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return ended_; });
    }

    // Waits until the body is blocked inside the channel: its thread asleep in the kernel
    // (state S in /proc/self/task/<tid>/stat) while the body has not returned. Bodies call
    // push or pop first thing, so the only place they can fall asleep is inside it; the
    // state must be read as S several times in a row, so that a thread napping for a
    // moment on a briefly contended lock on its way into the wait does not count. False
    // if the body ended first or `limit` passed.
    bool blocked_within(std::chrono::milliseconds limit) {
        constexpr int reads_in_a_row = 5;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int asleep = 0;
        for (;;) {
            const pid_t tid = tid_.load();
            // State first, then "still in the body": an 'S' read before body_done_ is
            // seen false was an 'S' inside the body.
            const bool s = tid != 0 && thread_state(tid) == 'S';
            if (body_done_.load()) return false;
            asleep = s ? asleep + 1 : 0;
            if (asleep >= reads_in_a_row) return true;
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::yield();
        }
    }

    // Joins; FAILs with `what` if the body did not end within `limit` (after calling
    // release and joining), and rethrows the body's exception if it threw.
    void finish(std::chrono::milliseconds limit, const std::string& what) {
        bool in_time = ended_within(limit);
        if (!in_time) {
            if (release_) release_();
            if (!ended_within(wake_limit)) give_up(what);
        }
        thread_.join();
        if (!in_time) FAIL(what);
        if (error_) std::rethrow_exception(error_);
    }

    // REQUIREs that the body blocks (see blocked_within); otherwise joins it, rethrows
    // its exception if it threw, and FAILs with `what`.
    void require_blocked(const std::string& what) {
        if (blocked_within(wake_limit)) return;
        finish(wake_limit, what);
        FAIL(what);
    }

private:
    std::function<void()> release_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool ended_ = false;
    std::atomic<bool> body_done_{false};
    std::atomic<pid_t> tid_{0};
    std::exception_ptr error_;
    std::thread thread_;   // last: everything above exists before the thread starts
};

// Runs body on a Worker and returns its result; FAILs with `what` if it takes longer
// than `limit` (release is called then, to free it).
template <class Body>
auto within(std::chrono::milliseconds limit, const std::string& what, std::function<void()> release, Body body) {
    using R = decltype(body());
    if constexpr (std::is_void_v<R>) {
        Worker w(std::move(body), std::move(release));
        w.finish(limit, what);
    } else {
        std::optional<R> result;
        Worker w([&] { result.emplace(body()); }, std::move(release));
        w.finish(limit, what);
        return std::move(*result);
    }
}

// Pops until the channel ends, at most work_limit (closing the channel after that).
template <class Channel>
auto drain(Channel& channel, const std::string& what) {
    return within(work_limit, what, [&] { channel.close(); }, [&] {
        std::vector<std::decay_t<decltype(*channel.pop())>> items;
        while (auto item = channel.pop()) items.push_back(*item);
        return items;
    });
}

// One call that should not wait long (a pop with an item there, a push with room, a
// pop on a closed channel, any try_ call): FAILs with `what` if it takes longer than
// wake_limit, closing the channel to free it.
template <class Channel, class Body>
auto soon(Channel& channel, const std::string& what, Body body) {
    return within(wake_limit, what, [&] { channel.close(); }, std::move(body));
}

// A counter other threads bump and the test waits on, with a limit.
class Counter {
public:
    void add() {
        {
            std::lock_guard lock(mutex_);
            ++n_;
        }
        cv_.notify_all();
    }
    int value() {
        std::lock_guard lock(mutex_);
        return n_;
    }
    bool reaches(int target, std::chrono::milliseconds limit) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] { return n_ >= target; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int n_ = 0;
};

// Holds the handle merge() returned and drops it (which must close the channel and join
// every producer) with a limit, when drop() is called or the case ends, however it ends.
template <class Ptr>
class Dropper {
public:
    explicit Dropper(Ptr& handle) : handle_(handle) {}
    Dropper(const Dropper&) = delete;
    Dropper& operator=(const Dropper&) = delete;
    ~Dropper() { drop(); }
    void drop() {
        if (!handle_) return;
        Worker w([this] { handle_.reset(); });
        if (!w.ended_within(wake_limit))
            give_up("dropping the last handle to a merged channel did not return: does it close the "
                    "channel so blocked producers are released, then join them?");
    }

private:
    Ptr& handle_;
};

}  // namespace channel_test
