// One GET with Boost.Beast on C++20 coroutines, and a loop driver: see coro_http.hpp.
#include "common/coro_http.hpp"

#include <charconv>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace course {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {

struct Target {
    std::string host, port, path;
};

// "http://127.0.0.1:8080/delay/3" -> {"127.0.0.1", "8080", "/delay/3"}.
Target parse_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0)
        throw std::invalid_argument("GET " + url + ": only plain http:// URLs are supported");
    std::string_view rest(url);
    rest.remove_prefix(scheme.size());
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    Target t;
    t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    auto colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    t.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
    unsigned port = 0;
    auto [end, ec] = std::from_chars(t.port.data(), t.port.data() + t.port.size(), port);
    if (t.host.empty() || ec != std::errc{} || end != t.port.data() + t.port.size() || port == 0 || port > 65535)
        throw std::invalid_argument("GET " + url + ": not a URL of the form http://host[:port]/path");
    return t;
}

// Connects the socket: a numeric address directly (no resolver thread involved), a
// name through the resolver.
awaitable<void> connect_to(tcp::socket& socket, const Target& t) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(t.host, ec);
    if (!ec) {
        co_await socket.async_connect(tcp::endpoint(address, std::uint16_t(std::stoi(t.port))), use_awaitable);
        co_return;
    }
    tcp::resolver resolver(socket.get_executor());
    auto endpoints = co_await resolver.async_resolve(t.host, t.port, use_awaitable);
    co_await asio::async_connect(socket, endpoints, use_awaitable);
}

}  // namespace

awaitable<HttpResponse> http_get(std::string url) {
    Target t = parse_url(url);
    // The socket lives in this frame: whatever ends the request (its answer, an error,
    // a cancellation), unwinding the frame closes the connection.
    tcp::socket socket(co_await asio::this_coro::executor);
    try {
        co_await connect_to(socket, t);
        http::request<http::empty_body> request{http::verb::get, t.path, 11};
        request.set(http::field::host, t.host);
        request.set(http::field::user_agent, "course");
        request.keep_alive(false);
        co_await http::async_write(socket, request, use_awaitable);
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        co_await http::async_read(socket, buffer, response, use_awaitable);
        co_return HttpResponse{int(response.result_int()), std::move(response.body())};
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("GET " + url + ": " + e.code().message());
    }
}

}  // namespace course
