// Topic 05, the functions that are not templates: lines and gather.
// See coro.hpp and README.md.
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
    throw course::not_implemented("lines");
}

// ------------------------------------------------------------------ gather

awaitable<std::vector<Result>> gather(std::vector<std::string> urls, Fetch fetch) {
    throw course::not_implemented("gather");
}

}  // namespace course::coro
