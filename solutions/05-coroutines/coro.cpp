// Topic 05, the functions that are not templates: lines and gather.
#include "coro.hpp"

#include <charconv>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace course::coro {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

Generator<std::string_view> lines(std::string_view text) {
    while (!text.empty()) {
        auto newline = text.find('\n');
        co_yield text.substr(0, newline);   // a view into the caller's text
        if (newline == std::string_view::npos) break;
        text.remove_prefix(newline + 1);
    }
}

// ------------------------------------------------------------------ gather

namespace {

// One URL, never throwing: every outcome becomes a Result. A named coroutine taking
// its parameters by value: its frame owns copies of them for as long as it lives.
awaitable<Result> fetch_one(std::string url, Fetch fetch) {
    Result result{url, std::nullopt, {}};
    try {
        result.response = co_await fetch(url);
    } catch (const std::exception& e) {
        result.error = e.what();
        if (result.error.find(url) == std::string::npos) result.error = "GET " + url + ": " + result.error;
    }
    co_return result;
}

}  // namespace

awaitable<std::vector<Result>> gather(std::vector<std::string> urls, Fetch fetch) {
    // A ranged parallel_group of zero operations never completes: answer at once.
    if (urls.empty()) co_return std::vector<Result>{};
    auto executor = co_await asio::this_coro::executor;
    // co_spawn(..., deferred) only describes each request; the group starts them all,
    // on our executor (this thread's loop), before waiting for any.
    using Launch = decltype(asio::co_spawn(executor, fetch_one(std::string(), fetch), asio::deferred));
    std::vector<Launch> requests;
    requests.reserve(urls.size());
    for (auto& url : urls) requests.push_back(asio::co_spawn(executor, fetch_one(url, fetch), asio::deferred));
    // The group's results are indexed like `requests` (request order); `order` says in
    // which order they completed, which we do not need.
    auto [order, errors, results] = co_await asio::experimental::make_parallel_group(std::move(requests))
                                        .async_wait(asio::experimental::wait_for_all(), use_awaitable);
    (void)order;
    for (std::size_t i = 0; i < results.size(); ++i)
        if (errors[i]) {   // fetch_one does not throw; only a failed launch lands here
            results[i].url = urls[i];
            results[i].error = "GET " + urls[i] + ": the request coroutine ended with an exception";
        }
    co_return std::move(results);
}

}  // namespace course::coro
