// The local HTTP server: Boost.Beast on Asio with C++20 coroutines.
//
//   pool thread 1 ──┐                       ┌─ accept_connections  (one coroutine)
//   pool thread 2 ──┼── io_context.run() ───┼─ serve_connection    (one per connection)
//        ...      ──┘                       └─ refuse_connection   (over max_connections)
//
// Every coroutine runs on whichever pool thread is free when the thing it waits for
// (a connection, a request, a timer, a write) is ready. While it waits it holds no
// thread, so 2 threads serve 1,000 sleeping /delay requests at once.
#include "common/local_server.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace course {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using TextResponse = http::response<http::string_body>;
using namespace std::chrono_literals;

// Asio 1.81 has no default completion token for coroutines: every co_await names one.
// as_tuple turns errors into values (a closed connection is normal, not exceptional).
constexpr auto use_tuple = asio::as_tuple(use_awaitable);

constexpr std::uint64_t max_delay_ms = 60'000;
constexpr std::uint64_t max_body_bytes = 64ull << 20;  // /chunk and /bytes

// ---------------------------------------------------------------- deterministic bytes

// splitmix64: a tiny, good 64-bit mixer; the same input always gives the same output.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// A number in [0, 1) drawn for request `id`: failure_rate compares against it.
double uniform_draw(std::uint64_t seed, std::uint64_t id) {
    return double(mix(mix(seed) ^ id) >> 11) * 0x1.0p-53;
}

// ---------------------------------------------------------------- counters

// Raises `peak` to `now` unless another thread already raised it higher.
void raise_peak(std::atomic<std::uint64_t>& peak, std::uint64_t now) {
    std::uint64_t seen = peak.load();
    while (seen < now && !peak.compare_exchange_weak(seen, now)) {
    }
}

struct Counters {
    std::atomic<std::uint64_t> connections_opened{0}, connections_refused{0};
    std::atomic<std::uint64_t> connections_open{0}, peak_connections_open{0};
    std::atomic<std::uint64_t> requests_served{0}, requests_failed{0};
    std::atomic<std::uint64_t> in_flight{0}, peak_in_flight{0};
    std::atomic<std::uint64_t> next_request_id{1};  // never reset: the failure pattern
};                                                  // follows the request ids

// Counts one thing (a connection, a request) as open while it lives. Movable, so the
// accept loop can count a connection before handing it to its coroutine.
class Gauge {
public:
    Gauge(std::atomic<std::uint64_t>& now, std::atomic<std::uint64_t>& peak) : now_(&now) {
        raise_peak(peak, ++now);
    }
    Gauge(Gauge&& other) noexcept : now_(std::exchange(other.now_, nullptr)) {}
    Gauge& operator=(Gauge&&) = delete;
    ~Gauge() { release(); }
    void release() {
        if (now_) --*std::exchange(now_, nullptr);
    }

private:
    std::atomic<std::uint64_t>* now_;
};

// What every coroutine of one server shares. It outlives them all: LocalServer::Impl
// destroys the io_context (and with it every suspended coroutine) before this.
struct ServerState {
    ServerOptions options;
    fs::path files_root;  // canonical form of options.files_dir, or empty
    Counters counters;
    std::mutex flaky_mutex;                         // guards flaky
    std::map<std::string, std::uint64_t> flaky;     // requests seen per /flaky/{key}
};

// ---------------------------------------------------------------- responses

TextResponse text_response(const Request& req, http::status status, std::string body,
                           std::string_view content_type = "text/plain") {
    TextResponse res{status, req.version()};
    res.set(http::field::server, "course-local-server");
    res.set(http::field::content_type, content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

TextResponse error_response(const Request& req, http::status status, std::string_view why) {
    return text_response(req, status, std::string(why) + "\n");
}

TextResponse json_response(const Request& req, const nlohmann::json& value) {
    return text_response(req, http::status::ok, value.dump() + "\n", "application/json");
}

// A HEAD request gets the headers of the GET response (Content-Length included) and no
// body; message_generator lets one write path send either kind of message.
template <class Body>
http::message_generator finish(http::response<Body> res, const Request& req) {
    if (req.method() != http::verb::head) return http::message_generator(std::move(res));
    http::response<http::empty_body> head{res.result(), res.version()};
    for (const auto& field : res) head.set(field.name_string(), field.value());
    head.keep_alive(res.keep_alive());
    return http::message_generator(std::move(head));
}

// ---------------------------------------------------------------- parsing the target

// "123" -> 123; anything else (empty, sign, trailing text, overflow) -> nothing.
std::optional<std::uint64_t> parse_number(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return {};
    return value;
}

// The value of `key` in a query string "a=1&size=20", or nothing.
std::optional<std::string_view> query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == key) return eq == pair.npos ? "" : pair.substr(eq + 1);
        query = amp == query.npos ? "" : query.substr(amp + 1);
    }
    return {};
}

// "%2e%2E/x" -> "../x"; a malformed escape -> nothing.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        unsigned value = 0;
        if (i + 2 >= text.size()) return {};
        auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (ec != std::errc{} || end != text.data() + i + 3) return {};
        out += char(value);
        i += 2;
    }
    return out;
}

// ---------------------------------------------------------------- endpoints

// Waits without holding a thread: the timer's completion resumes this coroutine.
awaitable<void> pause_for(std::chrono::milliseconds duration) {
    if (duration <= 0ms) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(use_awaitable);
}

http::message_generator serve_file(const Request& req, std::string_view encoded_name,
                                   const ServerState& state) {
    if (state.files_root.empty()) return finish(error_response(req, http::status::not_found, "no files folder configured"), req);
    auto name = percent_decode(encoded_name);
    if (!name) return finish(error_response(req, http::status::bad_request, "bad percent-escape"), req);
    fs::path relative(*name);
    bool outside = name->empty() || relative.is_absolute() || name->find('\0') != std::string::npos;
    for (const auto& part : relative) outside = outside || part == "..";
    if (outside) return finish(error_response(req, http::status::forbidden, "path leaves the files folder"), req);

    // canonical() follows every symlink: what it names must still be inside the folder.
    std::error_code ec;
    fs::path real = fs::canonical(state.files_root / relative, ec);
    if (ec) return finish(error_response(req, http::status::not_found, "no such file"), req);
    auto root_end = std::mismatch(state.files_root.begin(), state.files_root.end(), real.begin(), real.end()).first;
    if (root_end != state.files_root.end())
        return finish(error_response(req, http::status::forbidden, "symlink leaves the files folder"), req);
    if (!fs::is_regular_file(real, ec)) return finish(error_response(req, http::status::not_found, "not a file"), req);

    // file_body streams the file from disk: a 100 MB dataset never sits in memory.
    http::file_body::value_type body;
    beast::error_code open_error;
    body.open(real.c_str(), beast::file_mode::scan, open_error);
    if (open_error) return finish(error_response(req, http::status::not_found, "cannot open file"), req);
    http::response<http::file_body> res{http::status::ok, req.version(), std::move(body)};
    res.set(http::field::server, "course-local-server");
    res.set(http::field::content_type, "application/octet-stream");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return finish(std::move(res), req);
}

// Answers one request (not /stats) by its path. A coroutine because /delay waits.
// (Taking req by reference is safe only because the caller co_awaits this at once, so
// the caller's frame, which owns req, outlives ours. A detached coroutine takes copies.)
awaitable<http::message_generator> route(const Request& req, std::uint64_t id, ServerState& state) {
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
    auto after = [&](std::string_view prefix) -> std::optional<std::string_view> {
        if (path.substr(0, prefix.size()) != prefix) return {};
        return path.substr(prefix.size());
    };
    auto bad = [&](std::string_view why) { return finish(error_response(req, http::status::bad_request, why), req); };
    if (req.method() != http::verb::get && req.method() != http::verb::head)
        co_return finish(error_response(req, http::status::method_not_allowed, "GET or HEAD only"), req);

    if (auto ms_text = after("/delay/")) {
        auto ms = parse_number(*ms_text);
        if (!ms || *ms > max_delay_ms) co_return bad("delay must be 0..60000 ms");
        co_await pause_for(std::chrono::milliseconds(*ms));
        co_return finish(json_response(req, {{"delay_ms", *ms}, {"request", id}}), req);
    }
    if (auto index_text = after("/chunk/")) {
        auto index = parse_number(*index_text);
        auto size_text = query_value(query, "size");
        auto size = size_text ? parse_number(*size_text) : std::optional<std::uint64_t>(1024);
        if (!index || !size || *size > max_body_bytes) co_return bad("use /chunk/{index}?size={0..64Mi}");
        auto res = text_response(req, http::status::ok, chunk_bytes(*index, *size), "application/octet-stream");
        co_return finish(std::move(res), req);
    }
    if (auto n_text = after("/bytes/")) {
        auto n = parse_number(*n_text);
        if (!n || *n > max_body_bytes) co_return bad("use /bytes/{0..64Mi}");
        co_return finish(text_response(req, http::status::ok, chunk_bytes(0, *n), "application/octet-stream"), req);
    }
    if (auto code_text = after("/status/")) {
        auto code = parse_number(*code_text);
        if (!code || *code < 200 || *code > 599) co_return bad("status must be 200..599");
        TextResponse res{http::int_to_status(unsigned(*code)), req.version()};
        res.result(unsigned(*code));  // keeps codes Beast has no name for
        res.set(http::field::server, "course-local-server");
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        co_return finish(std::move(res), req);
    }
    if (auto key = after("/flaky/")) {
        auto fail_text = query_value(query, "fail");
        auto fail = fail_text ? parse_number(*fail_text) : std::optional<std::uint64_t>(0);
        auto retry_text = query_value(query, "retry_after");
        bool send_retry_after = !retry_text || *retry_text != "none";
        auto retry_after = retry_text && send_retry_after ? parse_number(*retry_text) : std::optional<std::uint64_t>(0);
        if (key->empty() || !fail || !retry_after || *retry_after > 3600)
            co_return bad("use /flaky/{key}?fail={K}&retry_after={0..3600|none}");
        std::uint64_t seen = 0;
        {
            std::lock_guard lock(state.flaky_mutex);
            seen = ++state.flaky[std::string(*key)];
        }
        if (seen <= *fail) {
            auto res = error_response(req, http::status::service_unavailable,
                                      "flaky " + std::string(*key) + ": failure " + std::to_string(seen) + " of " +
                                          std::to_string(*fail));
            if (send_retry_after) res.set(http::field::retry_after, std::to_string(*retry_after));
            co_return finish(std::move(res), req);
        }
        co_return finish(text_response(req, http::status::ok, "ok " + std::string(*key) + " after " +
                                                                    std::to_string(*fail) + " failures\n"),
                         req);
    }
    if (auto name = after("/files/")) co_return serve_file(req, *name, state);
    co_return finish(error_response(req, http::status::not_found, "no such endpoint"), req);
}

nlohmann::json stats_json(ServerState& state) {
    const Counters& c = state.counters;
    nlohmann::json flaky = nlohmann::json::object();
    {
        std::lock_guard lock(state.flaky_mutex);
        for (const auto& [key, n] : state.flaky) flaky[key] = n;
    }
    return {{"connections_opened", c.connections_opened.load()},
            {"connections_refused", c.connections_refused.load()},
            {"connections_open", c.connections_open.load()},
            {"peak_connections_open", c.peak_connections_open.load()},
            {"requests_served", c.requests_served.load()},
            {"requests_failed", c.requests_failed.load()},
            {"in_flight", c.in_flight.load()},
            {"peak_in_flight", c.peak_in_flight.load()},
            {"flaky", flaky}};
}

// Everything one request goes through: counted in flight, delayed, maybe failed, routed.
awaitable<http::message_generator> answer(const Request& req, bool first_on_connection, ServerState& state) {
    Counters& counters = state.counters;
    if (req.target() == "/stats")  // observing must not change what is observed
        co_return finish(json_response(req, stats_json(state)), req);
    Gauge in_flight(counters.in_flight, counters.peak_in_flight);
    std::uint64_t id = counters.next_request_id++;
    co_await pause_for(state.options.latency + (first_on_connection ? state.options.connect_cost : 0ms));

    std::optional<http::message_generator> reply;
    if (state.options.failure_rate > 0 && uniform_draw(state.options.failure_seed, id) < state.options.failure_rate) {
        ++counters.requests_failed;
        reply.emplace(finish(error_response(req, http::status::service_unavailable, "injected failure"), req));
    } else {
        reply.emplace(co_await route(req, id, state));
    }
    // Counted before the write: a client that has its response sees it counted, and a
    // client limited to k requests never makes in_flight exceed k.
    ++counters.requests_served;
    in_flight.release();
    co_return std::move(*reply);
}

// ---------------------------------------------------------------- connections

// One connection: read a request, answer it, repeat while the client keeps it alive.
awaitable<void> serve_connection(tcp::socket socket, Gauge open, ServerState& state) {
    beast::flat_buffer buffer;
    for (bool first = true;; first = false) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(1 << 20);
        auto [read_error, bytes] = co_await http::async_read(socket, buffer, parser, use_tuple);
        (void)bytes;
        if (read_error == http::error::end_of_stream) break;  // closed between requests
        if (read_error) {
            // Beast could not parse it: say so once, then close. (A reset or a close
            // in the middle of a request is not worth an answer.)
            if (read_error.category() == http::make_error_code(http::error::bad_method).category() &&
                read_error != http::error::partial_message) {
                Request blank;
                blank.version(11);
                blank.keep_alive(false);
                auto res = error_response(blank, http::status::bad_request, "malformed request");
                co_await http::async_write(socket, res, use_tuple);
            }
            break;
        }
        Request req = parser.release();
        http::message_generator reply = co_await answer(req, first, state);
        bool keep_alive = reply.keep_alive();
        auto [write_error, written] = co_await beast::async_write(socket, std::move(reply), use_tuple);
        (void)written;
        if (write_error || !keep_alive) break;
    }
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    open.release();
}

// Over max_connections: one 503 with "Connection: close", written without waiting for
// the request, then the connection is closed once the client has closed its side.
awaitable<void> refuse_connection(tcp::socket socket) {
    Request blank;
    blank.version(11);
    blank.keep_alive(false);
    auto res = error_response(blank, http::status::service_unavailable, "too many connections");
    co_await http::async_write(socket, res, use_tuple);
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    // Drain what the client sent: closing with unread data would reset the connection,
    // and the client could lose the 503 before reading it.
    char sink[4096];
    for (std::size_t drained = 0; drained < (1u << 20);) {
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) break;
        drained += n;
    }
}

// A coroutine that ends with an exception is a bug in this file: say so on stderr.
void report_exception(std::exception_ptr error) {
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::cerr << "local server: connection ended by an exception: " << e.what() << "\n";
    }
}

// Waits for connections and starts one coroutine per connection. It never waits for
// a connection's coroutine: they all run side by side on the pool.
awaitable<void> accept_connections(tcp::acceptor acceptor, ServerState& state) {
    Counters& counters = state.counters;
    for (;;) {
        auto [error, socket] = co_await acceptor.async_accept(use_tuple);
        if (error == asio::error::operation_aborted) co_return;
        if (error) {  // e.g. out of file descriptors: retry in a moment, do not spin
            co_await pause_for(10ms);
            continue;
        }
        std::size_t limit = state.options.max_connections;
        if (limit != 0 && counters.connections_open.load() >= limit) {
            ++counters.connections_refused;
            asio::co_spawn(acceptor.get_executor(), refuse_connection(std::move(socket)), report_exception);
            continue;
        }
        // No Nagle: a response written in two parts (headers, then a file body) must not
        // wait for the client's delayed ACK before its second part goes out (~40 ms).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        // Counted here, not in the new coroutine: it may not run before the next accept.
        ++counters.connections_opened;
        Gauge open(counters.connections_open, counters.peak_connections_open);
        asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), std::move(open), state),
                       report_exception);
    }
}

}  // namespace

std::string chunk_bytes(std::uint64_t index, std::size_t size) {
    std::string bytes(size, '\0');
    std::uint64_t base = mix(index);
    for (std::size_t at = 0; at < size; at += 8) {
        std::uint64_t word = mix(base + at / 8);  // byte `at` depends on (index, at) only
        for (std::size_t k = 0; k < 8 && at + k < size; ++k) bytes[at + k] = char(word >> (8 * k));
    }
    return bytes;
}

// ---------------------------------------------------------------- LocalServer

struct LocalServer::Impl {
    ServerState state;                // declared first: destroyed last
    asio::io_context io;              // owns every coroutine; destroyed before state
    std::uint16_t port = 0;
    std::vector<std::thread> threads;

    explicit Impl(ServerOptions options) : state{std::move(options), {}, {}, {}, {}}, io(int(state.options.threads)) {
        const ServerOptions& o = state.options;
        if (o.address != "127.0.0.1" && o.address != "localhost")
            throw std::invalid_argument("LocalServer: address '" + o.address +
                                        "' refused: the course server listens on 127.0.0.1 only");
        if (o.threads == 0) throw std::invalid_argument("LocalServer: threads must be at least 1");
        if (!(o.failure_rate >= 0 && o.failure_rate <= 1))
            throw std::invalid_argument("LocalServer: failure_rate must be in [0, 1]");
        if (o.latency < 0ms || o.connect_cost < 0ms)
            throw std::invalid_argument("LocalServer: latency and connect_cost must not be negative");
        if (!o.files_dir.empty()) {
            std::error_code ec;
            state.files_root = fs::canonical(o.files_dir, ec);
            if (ec || !fs::is_directory(state.files_root))
                throw std::invalid_argument("LocalServer: files_dir '" + o.files_dir + "' is not a folder");
        }

        // Bind now, so the port is known (and a clash reported) before the constructor returns.
        tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), o.port);
        tcp::acceptor acceptor(io);
        acceptor.open(endpoint.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        beast::error_code ec;
        acceptor.bind(endpoint, ec);
        if (ec) throw std::system_error(ec, "LocalServer: cannot bind 127.0.0.1:" + std::to_string(o.port));
        acceptor.listen(asio::socket_base::max_listen_connections);
        port = acceptor.local_endpoint().port();
        asio::co_spawn(io, accept_connections(std::move(acceptor), state), report_exception);

        try {
            for (unsigned i = 0; i < o.threads; ++i) threads.emplace_back([this] { io.run(); });
        } catch (...) {
            shut_down();
            throw;
        }
    }

    // stop() makes run() return on every pool thread after its current handler; the
    // io_context's destructor (next, in member order) then destroys every suspended
    // coroutine, and with them their sockets and timers: a /delay wait just ends.
    void shut_down() {
        io.stop();
        for (auto& t : threads) t.join();
        threads.clear();
    }
    ~Impl() { shut_down(); }
};

LocalServer::LocalServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
LocalServer::~LocalServer() = default;

std::string LocalServer::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }
std::string LocalServer::host() const { return "127.0.0.1"; }
std::uint16_t LocalServer::port() const { return impl_->port; }
const ServerOptions& LocalServer::options() const { return impl_->state.options; }

ServerStats LocalServer::stats() const {
    const Counters& c = impl_->state.counters;
    ServerStats s;
    s.connections_opened = c.connections_opened.load();
    s.connections_refused = c.connections_refused.load();
    s.connections_open = c.connections_open.load();
    s.peak_connections_open = c.peak_connections_open.load();
    s.requests_served = c.requests_served.load();
    s.requests_failed = c.requests_failed.load();
    s.in_flight = c.in_flight.load();
    s.peak_in_flight = c.peak_in_flight.load();
    std::lock_guard lock(impl_->state.flaky_mutex);
    s.flaky = impl_->state.flaky;
    return s;
}

void LocalServer::reset_stats() {
    Counters& c = impl_->state.counters;
    c.connections_opened = 0;
    c.connections_refused = 0;
    c.requests_served = 0;
    c.requests_failed = 0;
    c.peak_connections_open = c.connections_open.load();
    c.peak_in_flight = c.in_flight.load();
    std::lock_guard lock(impl_->state.flaky_mutex);
    impl_->state.flaky.clear();
}

}  // namespace course
