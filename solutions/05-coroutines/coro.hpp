// Topic 05: coroutines. A lazy Generator<T>, and requests gathered on ONE event loop.
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
//
// The reference solution. exercises/05-coroutines/coro.hpp declares the same API.
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

namespace course::coro {

// ------------------------------------------------------------------ Generator<T>

// A coroutine that produces a sequence with co_yield, one value each time the consumer
// asks: `for (int v : numbers()) ...`. The frame starts suspended (nothing runs before
// begin()); each begin()/++ resumes it up to its next co_yield. The Generator owns the
// frame and destroys it in its destructor, so breaking out of the loop destroys the
// body's locals too.
template <class T>
class Generator {
public:
    struct promise_type {
        std::optional<T> current;   // the value of the last co_yield
        std::exception_ptr error;   // what the body threw, for the consumer

        Generator get_return_object() {
            return Generator(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() noexcept { return {}; }   // lazy: wait for begin()
        std::suspend_always final_suspend() noexcept { return {}; }     // the Generator destroys
        std::suspend_always yield_value(T value) {
            current = std::move(value);
            return {};   // back to whoever resumed us: the consumer's begin() or ++
        }
        void return_void() noexcept {}
        // Kept, not thrown here: the consumer's begin()/++ rethrows it after resume().
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };
    using handle_type = std::coroutine_handle<promise_type>;

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;

        iterator() = default;
        T& operator*() const { return *handle_.promise().current; }
        T* operator->() const { return &*handle_.promise().current; }
        iterator& operator++() {
            advance(handle_);
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
            return !it.handle_ || it.handle_.done();
        }

    private:
        friend class Generator;
        explicit iterator(handle_type handle) : handle_(handle) {}
        handle_type handle_;
    };

    Generator(Generator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Generator& operator=(Generator&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Generator(const Generator&) = delete;
    Generator& operator=(const Generator&) = delete;
    ~Generator() {
        if (handle_) handle_.destroy();   // runs the destructors of the body's locals
    }

    // Runs the body up to its first co_yield (or its end).
    iterator begin() {
        if (handle_) advance(handle_);
        return iterator(handle_);
    }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    explicit Generator(handle_type handle) : handle_(handle) {}

    static void advance(handle_type handle) {
        handle.promise().current.reset();
        handle.resume();   // runs the body on this thread until co_yield, return or throw
        if (handle.done() && handle.promise().error)
            std::rethrow_exception(std::exchange(handle.promise().error, nullptr));
    }

    handle_type handle_;
};

// The lines of `text`, split on '\n', as views into `text` (nothing is copied: `text`
// must outlive the loop). A final '\n' does not start another line; empty text has none.
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

// Fetches every URL at once on the calling coroutine's executor (one thread, one loop:
// no other threads), then returns one Result per URL, in the order of `urls`. A request
// that fails gives a Result holding its error; gather itself does not throw for it.
boost::asio::awaitable<std::vector<Result>> gather(std::vector<std::string> urls, Fetch fetch = http_get);

// ------------------------------------------------------------------ timeouts

namespace detail {
// Lifts an awaitable<T> into awaitable<optional<T>>, so the parallel group below can
// hand back "no value" for a cancelled operation whatever T is.
template <class T>
boost::asio::awaitable<std::optional<T>> as_optional(boost::asio::awaitable<T> op) {
    co_return co_await std::move(op);
}
}  // namespace detail

// Runs `op` against a timer of `limit`. If `op` finishes first: its value (or its
// exception, rethrown). If the timer fires first: `op` is cancelled, and with_timeout
// returns empty only once `op` has ended (its frame destroyed, its socket closed).
//
// Cancellation in Asio is per operation: the group emits a signal into the slot of the
// operation `op` is suspended in. Only operations that honour that slot stop early
// (Asio's sockets and timers do, and so do Beast's http::async_read/async_write, which
// forward it to the socket); an operation that ignores it runs on, and we wait for it.
//
// Why not `co_await (std::move(op) || timer.async_wait(use_awaitable))` from
// asio::experimental::awaitable_operators, as Asio's own timeout example does? `||`
// waits for the first *success*: an `op` that fails at once would wait out the timer
// and be reported as a timeout. wait_for_one() below ends at the first completion.
template <class T>
boost::asio::awaitable<std::optional<T>> with_timeout(boost::asio::awaitable<T> op, std::chrono::milliseconds limit) {
    namespace asio = boost::asio;
    namespace ex = boost::asio::experimental;
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(executor, limit);
    auto [order, op_error, value, timer_error] =
        co_await ex::make_parallel_group(asio::co_spawn(executor, detail::as_optional(std::move(op)), asio::deferred),
                                         timer.async_wait(asio::deferred))
            .async_wait(ex::wait_for_one(), asio::use_awaitable);
    (void)timer_error;
    if (order[0] == 0) {   // op ended first; the timer was cancelled
        if (op_error) std::rethrow_exception(op_error);
        co_return std::move(value);
    }
    co_return std::nullopt;   // the timer fired first; op was cancelled and has ended
}

// ------------------------------------------------------------------ driving

// (Given.) Runs `task` on a new io_context on the calling thread until it completes and
// returns its value (or rethrows its exception); see lessons/common/coro_http.hpp.
using course::run_on_one_thread;

}  // namespace course::coro
