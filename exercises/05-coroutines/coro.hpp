// Topic 05: coroutines. A lazy Generator<T>, and requests gathered on ONE event loop.
//
// YOUR TASK: replace every `throw course::not_implemented(...)` with a real body and
// add the members you need (here and in coro.cpp). Read README.md in this folder first;
// `./course check 05` tests your work and `./course hint 05` gives one hint at a time.
//
//        one thread, one io_context (the event loop)
//   ┌──────────────────────────────────────────────────────────┐
//   │ ready: [resume A] [resume C]   timers: ⏱ 200 ms (B)      │
//   │ sockets: A waits to read, C waits to connect             │
//   └──────────────────────────────────────────────────────────┘
//     gather(urls): request 0 ──co_await──▶ (suspended, holds no thread)
//                   request 1 ──co_await──▶ (suspended)
//                   ...          every request in flight at once; the loop resumes
//                                each one when its socket is ready, on this thread
#pragma once

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/coro_http.hpp"
#include "common/not_implemented.hpp"

namespace course::coro {

// ------------------------------------------------------------------ Generator<T>

// A coroutine that produces a sequence with co_yield, one value each time the consumer
// asks: `for (int v : numbers()) ...`. Lazy; move-only; owns its frame.
template <class T>
class Generator {
public:
    struct promise_type {
        Generator get_return_object() { throw course::not_implemented("Generator::promise_type::get_return_object"); }
        std::suspend_always initial_suspend() { throw course::not_implemented("Generator::promise_type::initial_suspend"); }
        std::suspend_always final_suspend() noexcept { return {}; }
        std::suspend_always yield_value(T value) { throw course::not_implemented("Generator::promise_type::yield_value"); }
        void return_void() { throw course::not_implemented("Generator::promise_type::return_void"); }
        void unhandled_exception() { throw course::not_implemented("Generator::promise_type::unhandled_exception"); }
    };

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;

        iterator() = default;
        T& operator*() const { throw course::not_implemented("Generator::iterator::operator*"); }
        iterator& operator++() { throw course::not_implemented("Generator::iterator::operator++"); }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) {
            throw course::not_implemented("Generator::iterator == end()");
        }
    };

    Generator(Generator&& other) noexcept {}
    Generator& operator=(Generator&& other) noexcept { return *this; }
    Generator(const Generator&) = delete;
    Generator& operator=(const Generator&) = delete;
    ~Generator() {}

    iterator begin() { throw course::not_implemented("Generator::begin"); }
    std::default_sentinel_t end() const noexcept { return {}; }
};

// The lines of `text`, split on '\n', as views into `text`.
Generator<std::string_view> lines(std::string_view text);

// ------------------------------------------------------------------ requests

// One HTTP answer: its status (whatever it is: a 503 is an answer too) and its body.
// (Given, with http_get and run_on_one_thread, in lessons/common/coro_http.hpp.)
using Response = course::HttpResponse;

// One request's outcome in a gather: the answer, or why there is none.
struct Result {
    std::string url;                    // the URL asked for
    std::optional<Response> response;   // the answer, any status; empty on error
    std::string error;                  // when there is no answer: what went wrong,
                                        // naming the URL ("GET http://...: Connection refused")
    bool ok() const { return response.has_value(); }
};

// (Given.) One GET with Boost.Beast on the calling coroutine's executor; see
// lessons/common/coro_http.hpp. It honours cancellation: a cancelled request ends with an
// exception, and its socket is closed as its frame unwinds.
using course::http_get;

// How gather fetches one URL. The default is http_get; tests pass their own.
using Fetch = std::function<boost::asio::awaitable<Response>(std::string url)>;

// Fetches every URL at once on the calling coroutine's executor, then returns one Result
// per URL, in the order of `urls`.
boost::asio::awaitable<std::vector<Result>> gather(std::vector<std::string> urls, Fetch fetch = http_get);

// ------------------------------------------------------------------ timeouts

// Runs `op` against a timer of `limit`: op's value (or its exception), or empty once
// `limit` has passed and `op` has been cancelled.
template <class T>
boost::asio::awaitable<std::optional<T>> with_timeout(boost::asio::awaitable<T> op, std::chrono::milliseconds limit) {
    throw course::not_implemented("with_timeout");
}

// ------------------------------------------------------------------ driving

// (Given.) Runs `task` on a new io_context on the calling thread until it completes and
// returns its value (or rethrows its exception); see lessons/common/coro_http.hpp.
using course::run_on_one_thread;

}  // namespace course::coro
