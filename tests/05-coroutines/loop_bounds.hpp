// Bounded runs of coroutines for the topic 05 tests. A broken gather or with_timeout
// must make a case FAIL within seconds with a sentence saying what did not happen,
// instead of hanging until the CTest timeout. So every test drives its coroutines with
// io_context::run_for(limit) on the test's own thread: when the limit passes, the loop
// stops, and whatever is still suspended is destroyed with it. No sleeps anywhere.
//
// Coroutines here are named functions taking their parameters by value (or by pointer
// to something the test case owns and that outlives the loop). Never a capturing lambda
// as a coroutine: its captures live in the lambda object, which is gone after its first
// suspension (and g++ 11/12 also miscompile some of them).
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "coro.hpp"
#include "course_catch.hpp"

namespace coro_test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// How long a case lets its loop run before it calls the coroutine stuck. Generous: the
// work of every case takes milliseconds, even beside two CPU hogs under TSan.
inline constexpr std::chrono::milliseconds loop_limit{10'000};

// Runs `task` on a fresh io_context on this thread for at most `limit`. Returns its value,
// or empty if it had not completed by then. Rethrows its exception.
template <class T>
std::optional<T> run_for(asio::awaitable<T> task, std::chrono::milliseconds limit = loop_limit) {
    asio::io_context loop(1);
    std::exception_ptr error;
    std::optional<T> result;
    asio::co_spawn(loop, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) result.emplace(std::move(value));
        loop.stop();
    });
    loop.run_for(limit);
    if (error) std::rethrow_exception(error);
    return result;   // the loop (and every frame still suspended in it) goes now
}

// Counts its own destruction: a local of a coroutine body, to see when the frame goes.
struct Guard {
    int* destroyed;
    explicit Guard(int* counter) : destroyed(counter) {}
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() { ++*destroyed; }
};

}  // namespace coro_test

// Failing checks print the course's types, not {?}.
namespace Catch {
template <>
struct StringMaker<course::coro::Response> {
    static std::string convert(const course::coro::Response& r) {
        std::string body = r.body.size() > 60 ? r.body.substr(0, 60) + "..." : r.body;
        return "Response{status " + std::to_string(r.status) + ", body \"" + body + "\" (" +
               std::to_string(r.body.size()) + " bytes)}";
    }
};
template <>
struct StringMaker<course::coro::Result> {
    static std::string convert(const course::coro::Result& r) {
        if (r.response) return "Result{" + r.url + " -> " + StringMaker<course::coro::Response>::convert(*r.response) + "}";
        return "Result{" + r.url + " -> error \"" + r.error + "\"}";
    }
};
}  // namespace Catch
