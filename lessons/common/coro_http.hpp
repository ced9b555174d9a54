// A small HTTP client and a loop driver on C++20 coroutines (Boost.Beast on Asio), given
// to the topics that make requests (05 and on), their tests and lessons:
//   http_get(url)            one GET on the calling coroutine's executor
//   run_on_one_thread(task)  runs a coroutine on a new io_context on this thread
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace course {

// One HTTP answer: its status (whatever it is: a 503 is an answer too) and its body.
struct HttpResponse {
    int status = 0;
    std::string body;
};

// One GET with Boost.Beast on the calling coroutine's executor:
// plain HTTP, "http://host[:port]/path", one new connection ("Connection: close").
// Returns the answer whatever its status; throws std::runtime_error naming the URL when
// there is none (bad URL, connection refused, connection closed early). Honours
// cancellation: a cancelled request ends with an exception, and its socket is closed as
// its frame unwinds.
boost::asio::awaitable<HttpResponse> http_get(std::string url);

// Runs `task` on a new io_context on the calling thread until `task` completes,
// and returns its value (or rethrows its exception). Whatever `task` left running is
// destroyed with the loop. Used by lessons, tests and `./course run NN --mine`.
template <class T>
T run_on_one_thread(boost::asio::awaitable<T> task) {
    boost::asio::io_context loop(1);
    std::exception_ptr error;
    std::optional<T> result;
    boost::asio::co_spawn(loop, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) result.emplace(std::move(value));
        loop.stop();
    });
    loop.run();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
}

inline void run_on_one_thread(boost::asio::awaitable<void> task) {
    boost::asio::io_context loop(1);
    std::exception_ptr error;
    boost::asio::co_spawn(loop, std::move(task), [&](std::exception_ptr e) {
        error = e;
        loop.stop();
    });
    loop.run();
    if (error) std::rethrow_exception(error);
}

}  // namespace course
