// Tests of course::LocalServer, the local HTTP server. They use three small clients:
// a blocking Beast client (one connection, one request at a time, or raw bytes), libcurl
// easy (a real client that reuses its connection), and an Asio coroutine client for
// many requests at once. Nothing is timed: the server's counters are the witnesses.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include "common/local_server.hpp"
#include "common/process_stats.hpp"
#include "course_catch.hpp"
#include "temp_dir.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;
using namespace std::chrono_literals;

using course::testing::TempDir;

namespace {

// One keep-alive connection, one request at a time, blocking.
class BlockingClient {
public:
    explicit BlockingClient(std::uint16_t port) : socket_(io_) {
        socket_.connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
    }
    Response get(const std::string& target, http::verb method = http::verb::get) {
        http::request<http::empty_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(socket_, req);
        return read();
    }
    void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
    Response read() {
        Response res;
        http::read(socket_, buffer_, res);
        return res;
    }
    // The answer to HEAD has a Content-Length but no body: tell the parser so.
    Response head(const std::string& target) {
        http::request<http::empty_body> req{http::verb::head, target, 11};
        req.set(http::field::host, "127.0.0.1");
        http::write(socket_, req);
        http::response_parser<http::string_body> parser;
        parser.skip(true);
        http::read(socket_, buffer_, parser);
        return parser.release();
    }
    // True when the server has closed the connection: the next read finds end of stream.
    bool closed_by_server() {
        char byte;
        beast::error_code ec;
        socket_.read_some(asio::buffer(&byte, 1), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

Response get_once(const course::LocalServer& server, const std::string& target) {
    return BlockingClient(server.port()).get(target);
}

// libcurl easy: one handle keeps its connection open between requests.
class CurlClient {
public:
    CurlClient() : curl_(curl_easy_init()) {
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlClient::append);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body_);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    }
    ~CurlClient() { curl_easy_cleanup(curl_); }
    long get(const std::string& url) {
        body_.clear();
        curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
        if (curl_easy_perform(curl_) != CURLE_OK) return -1;
        long code = 0;
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
    const std::string& body() const { return body_; }

private:
    static std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
    }
    CURL* curl_;
    std::string body_;
};

// ---- the coroutine client: many requests at once from one thread

// Every request first connects, then waits at this gate until all have connected, then
// sends: so all requests reach the server together, however slow connecting was.
struct Gate {
    std::size_t not_connected;
    asio::steady_timer opened;  // never expires by itself; cancel() opens it
};

awaitable<void> get_after_gate(tcp::endpoint server, std::string target, Gate* gate, int* status) {
    tcp::socket socket(co_await asio::this_coro::executor);
    auto [connect_error] = co_await socket.async_connect(server, asio::as_tuple(use_awaitable));
    // The last one to connect opens the gate for the others (all already waiting: one
    // client thread, so nobody can be between the decrement and the wait).
    if (--gate->not_connected == 0) {
        gate->opened.cancel();
    } else {
        co_await gate->opened.async_wait(asio::as_tuple(use_awaitable));
    }
    if (connect_error) co_return;  // *status stays 0
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(request), use_awaitable);
    beast::flat_buffer buffer;
    Response res;
    co_await http::async_read(socket, buffer, res, use_awaitable);
    *status = res.result_int();
}

// Sends `count` GET `target` at once, one connection each; returns the statuses.
std::vector<int> get_all_at_once(std::uint16_t port, const std::string& target, std::size_t count) {
    asio::io_context io;
    Gate gate{count, asio::steady_timer(io, asio::steady_timer::time_point::max())};
    std::vector<int> statuses(count, 0);
    tcp::endpoint server(asio::ip::make_address_v4("127.0.0.1"), port);
    for (std::size_t i = 0; i < count; ++i)
        asio::co_spawn(io, get_after_gate(server, target, &gate, &statuses[i]), asio::detached);
    io.run();  // returns when every request has its answer (or its error)
    return statuses;
}

// Each connection costs two descriptors in this process (client and server side).
void allow_open_files(rlim_t wanted) {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < wanted) {
        limit.rlim_cur = std::min(wanted, limit.rlim_max);
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::size_t entries_in(const fs::path& folder) {
    return std::size_t(std::distance(fs::directory_iterator(folder), fs::directory_iterator{}));
}


void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("the server listens on an ephemeral loopback port and reports its url") {
    course::LocalServer server;
    CHECK(server.port() != 0);
    CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()));
    CHECK(server.host() == "127.0.0.1");
}

TEST_CASE("an address other than loopback is refused with a clear exception") {
    CHECK_THROWS_AS(course::LocalServer({.address = "0.0.0.0"}), std::invalid_argument);
    CHECK_THROWS_WITH(course::LocalServer({.address = "192.168.1.10"}), ContainsSubstring("127.0.0.1 only"));
}

TEST_CASE("a port already taken is reported as an error") {
    course::LocalServer first;
    CHECK_THROWS_AS(course::LocalServer({.port = first.port()}), std::system_error);
}

TEST_CASE("delay answers with json naming the delay and a request id") {
    course::LocalServer server;
    auto res = get_once(server, "/delay/20");
    REQUIRE(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "application/json");
    auto json = nlohmann::json::parse(res.body());
    CHECK(json["delay_ms"] == 20);
    CHECK(json["request"].get<std::uint64_t>() >= 1);
    // Ids are distinct per request.
    auto second = nlohmann::json::parse(get_once(server, "/delay/0").body());
    CHECK(second["request"] != json["request"]);
}

TEST_CASE("chunk bytes equal chunk_bytes for the same index and size") {
    course::LocalServer server;
    BlockingClient client(server.port());
    auto res = client.get("/chunk/7?size=4096");
    REQUIRE(res.result_int() == 200);
    CHECK(res.body().size() == 4096);
    CHECK(res.body() == course::chunk_bytes(7, 4096));
    auto default_size = client.get("/chunk/7");
    CHECK(default_size.body() == course::chunk_bytes(7, 1024));
    // A shorter chunk is a prefix of a longer one; other indexes differ.
    CHECK(course::chunk_bytes(7, 1024) == course::chunk_bytes(7, 4096).substr(0, 1024));
    CHECK(course::chunk_bytes(8, 1024) != course::chunk_bytes(7, 1024));
    CHECK(client.get("/chunk/3?size=0").body().empty());
}

TEST_CASE("bytes returns exactly the requested number of bytes") {
    course::LocalServer server;
    BlockingClient client(server.port());
    for (std::size_t n : {0, 1, 16, 100000}) {
        auto res = client.get("/bytes/" + std::to_string(n));
        CHECK(res.result_int() == 200);
        CHECK(res.body().size() == n);
    }
}

TEST_CASE("status answers with the requested code") {
    course::LocalServer server;
    BlockingClient client(server.port());
    for (int code : {200, 204, 404, 418, 500, 503, 599}) {
        auto res = client.get("/status/" + std::to_string(code));
        CHECK(res.result_int() == unsigned(code));
        CHECK(res.body().empty());
    }
}

TEST_CASE("head gets the headers of get and no body") {
    course::LocalServer server;
    BlockingClient client(server.port());
    auto res = client.head("/bytes/300");
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_length] == "300");
    CHECK(client.get("/bytes/5").body().size() == 5);  // the connection is still in step
}

TEST_CASE("unknown paths get 404 and bad arguments get 400") {
    course::LocalServer server;
    BlockingClient client(server.port());
    CHECK(client.get("/").result_int() == 404);
    CHECK(client.get("/nothing/here").result_int() == 404);
    CHECK(client.get("/delay/abc").result_int() == 400);
    CHECK(client.get("/delay/-5").result_int() == 400);
    CHECK(client.get("/delay/99999999").result_int() == 400);
    CHECK(client.get("/chunk/1?size=lots").result_int() == 400);
    CHECK(client.get("/bytes/99999999999").result_int() == 400);
    CHECK(client.get("/status/42").result_int() == 400);
    CHECK(client.get("/bytes/1", http::verb::post).result_int() == 405);
    CHECK(client.get("/bytes/1").result_int() == 200);  // still the same connection
}

TEST_CASE("garbage on a socket gets 400 and the server keeps serving") {
    course::LocalServer server;
    {
        BlockingClient client(server.port());
        client.send_raw("this is not http at all\r\n\r\n");
        auto res = client.read();
        CHECK(res.result_int() == 400);
        CHECK(client.closed_by_server());
    }
    {
        BlockingClient client(server.port());
        std::string noise = course::chunk_bytes(99, 5000);  // binary junk
        client.send_raw(noise);
        CHECK_NOTHROW(client.closed_by_server());
    }
    {
        BlockingClient client(server.port());
        client.send_raw("GET /bytes/1 HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n");
        CHECK(client.read().result_int() == 400);
    }
    {
        BlockingClient client(server.port());
        client.send_raw("GET /bytes/");  // then hang up in the middle of the request
    }
    CHECK(get_once(server, "/bytes/3").body().size() == 3);
}

TEST_CASE("files are served from the folder and ways out of it are refused") {
    TempDir temp{"course-server-test"};
    fs::path served = temp.path / "served";
    fs::create_directories(served / "sub");
    write_file(served / "hello.txt", "hello, file\n");
    write_file(served / "sub" / "inner.txt", "inner\n");
    write_file(temp.path / "secret.txt", "secret\n");
    fs::create_symlink(temp.path / "secret.txt", served / "link-out");
    fs::create_symlink(served / "hello.txt", served / "link-in");

    course::LocalServer server({.files_dir = served.string()});
    BlockingClient client(server.port());
    auto hello = client.get("/files/hello.txt");
    CHECK(hello.result_int() == 200);
    CHECK(hello.body() == "hello, file\n");
    CHECK(client.get("/files/sub/inner.txt").body() == "inner\n");
    CHECK(client.get("/files/link-in").body() == "hello, file\n");

    CHECK(client.get("/files/../secret.txt").result_int() == 403);
    CHECK(client.get("/files/sub/../../secret.txt").result_int() == 403);
    CHECK(client.get("/files/%2e%2e/secret.txt").result_int() == 403);
    CHECK(client.get("/files/%2Fetc%2Fpasswd").result_int() == 403);
    CHECK(client.get("/files/link-out").result_int() == 403);
    CHECK(client.get("/files/missing.txt").result_int() == 404);
    CHECK(client.get("/files/sub").result_int() == 404);

    course::LocalServer without_folder;
    CHECK(get_once(without_folder, "/files/hello.txt").result_int() == 404);
    CHECK_THROWS_AS(course::LocalServer({.files_dir = (temp.path / "nope").string()}), std::invalid_argument);
}

TEST_CASE("sequential keep-alive requests on one connection count one connection") {
    course::LocalServer server;
    const int requests = 50;
    {
        BlockingClient client(server.port());
        for (int i = 0; i < requests; ++i) REQUIRE(client.get("/bytes/16").result_int() == 200);
        auto s = server.stats();
        CHECK(s.connections_opened == 1);
        CHECK(s.requests_served == requests);
        CHECK(s.in_flight == 0);
        CHECK(s.peak_in_flight == 1);
        CHECK(s.peak_connections_open == 1);
    }
    server.reset_stats();
    CurlClient curl;  // a real client: it keeps the connection open between requests
    for (int i = 0; i < requests; ++i) REQUIRE(curl.get(server.url() + "/chunk/" + std::to_string(i)) == 200);
    CHECK(curl.body() == course::chunk_bytes(requests - 1, 1024));
    auto s = server.stats();
    CHECK(s.connections_opened == 1);
    CHECK(s.requests_served == requests);
    CHECK(s.peak_in_flight == 1);
}

TEST_CASE("the stats endpoint reports the counters without counting itself") {
    course::LocalServer server;
    BlockingClient client(server.port());
    for (int i = 0; i < 3; ++i) client.get("/status/200");
    client.get("/status/404");
    auto first = nlohmann::json::parse(client.get("/stats").body());
    auto second = nlohmann::json::parse(client.get("/stats").body());
    CHECK(first["requests_served"] == 4);
    CHECK(first["connections_opened"] == 1);
    CHECK(first["in_flight"] == 0);
    CHECK(first["peak_in_flight"] == 1);
    CHECK(first == second);
    CHECK(server.stats().requests_served == 4);
}

TEST_CASE("the same failure seed gives the same 503 pattern") {
    auto pattern = [](std::uint64_t seed) {
        course::LocalServer server({.failure_rate = 0.3, .failure_seed = seed});
        BlockingClient client(server.port());
        std::vector<int> statuses;
        for (int i = 0; i < 200; ++i) statuses.push_back(client.get("/bytes/1").result_int());
        auto failed = std::count(statuses.begin(), statuses.end(), 503);
        CHECK(server.stats().requests_failed == std::uint64_t(failed));
        CHECK(failed + std::count(statuses.begin(), statuses.end(), 200) == 200);
        return statuses;
    };
    auto first = pattern(42);
    CHECK(first == pattern(42));
    CHECK(first != pattern(43));
    auto failed = std::count(first.begin(), first.end(), 503);
    CHECK(failed > 30);  // about 60 of 200
    CHECK(failed < 90);
}

TEST_CASE("flaky answers 503 with Retry-After to the first K requests of a key, then 200") {
    course::LocalServer server;
    BlockingClient client(server.port());
    for (int i = 1; i <= 2; ++i) {
        auto res = client.get("/flaky/k?fail=2");
        INFO("request " << i);
        CHECK(res.result_int() == 503);
        CHECK(res[http::field::retry_after] == "0");
    }
    auto ok = client.get("/flaky/k?fail=2");
    CHECK(ok.result_int() == 200);
    CHECK(ok.body() == "ok k after 2 failures\n");
    CHECK(client.get("/flaky/k?fail=2").result_int() == 200);
    // Keys count apart; retry_after sets the header, "none" leaves it out.
    auto other = client.get("/flaky/other?fail=1&retry_after=3");
    CHECK(other.result_int() == 503);
    CHECK(other[http::field::retry_after] == "3");
    auto bare = client.get("/flaky/bare?fail=1&retry_after=none");
    CHECK(bare.result_int() == 503);
    CHECK(bare.find(http::field::retry_after) == bare.end());
    CHECK(client.get("/flaky/k?fail=x").result_int() == 400);

    auto stats = server.stats();
    CHECK(stats.flaky == std::map<std::string, std::uint64_t>{{"bare", 1}, {"k", 4}, {"other", 1}});
    CHECK(nlohmann::json::parse(client.get("/stats").body())["flaky"]["k"] == 4);
    server.reset_stats();
    CHECK(server.stats().flaky.empty());
    CHECK(client.get("/flaky/k?fail=1").result_int() == 503);  // forgotten: fails again
}

TEST_CASE("connections beyond max_connections get one 503 and are closed") {
    course::LocalServer server({.max_connections = 2});
    BlockingClient first(server.port()), second(server.port());
    REQUIRE(first.get("/bytes/1").result_int() == 200);  // both counted as open now
    REQUIRE(second.get("/bytes/1").result_int() == 200);
    BlockingClient third(server.port());
    auto refused = third.get("/bytes/1");
    CHECK(refused.result_int() == 503);
    CHECK_FALSE(refused.keep_alive());
    CHECK(third.closed_by_server());
    CHECK(first.get("/bytes/1").result_int() == 200);  // the open ones keep working
    auto s = server.stats();
    CHECK(s.connections_refused == 1);
    CHECK(s.connections_opened == 2);
    CHECK(s.peak_connections_open == 2);
}

TEST_CASE("latency holds every request in flight so concurrent requests overlap") {
    // All 20 overlap only if they reach the server within the latency: on a loaded
    // machine a miss is retried with a longer latency, as in the test below.
    for (auto latency = 300ms;; latency *= 2) {
        course::LocalServer server({.latency = latency});
        auto statuses = get_all_at_once(server.port(), "/bytes/8", 20);
        CHECK(std::count(statuses.begin(), statuses.end(), 200) == 20);
        CHECK(server.stats().connections_opened == 20);
        if (server.stats().peak_in_flight == 20 || latency >= 4800ms) {
            CHECK(server.stats().peak_in_flight == 20);
            break;
        }
    }
}

TEST_CASE("a thousand concurrent delayed requests all complete and are in flight together") {
    allow_open_files(4096);  // 1,000 connections = 2,000 descriptors in this process
    // They overlap only if all 1,000 reach the server before the first delay ends. An
    // optimised build does that well within 200 ms; under a sanitizer, or on a loaded
    // machine, sending may take longer, so a miss is retried with twice the delay.
    for (int delay_ms = 200;; delay_ms *= 2) {
        course::LocalServer server;
        auto statuses = get_all_at_once(server.port(), "/delay/" + std::to_string(delay_ms), 1000);
        REQUIRE(std::count(statuses.begin(), statuses.end(), 200) == 1000);
        auto s = server.stats();
        CHECK(s.requests_served == 1000);
        CHECK(s.connections_opened == 1000);
        CHECK(s.in_flight == 0);
        if (s.peak_in_flight == 1000 || delay_ms >= 6400) {
            CHECK(s.peak_in_flight == 1000);
            break;
        }
        WARN("only " << s.peak_in_flight << " of 1000 requests were in flight together with /delay/" << delay_ms
                     << " (slow machine or sanitizer): retrying with a longer delay");
    }
}

TEST_CASE("the server stops cleanly with requests in flight and leaves nothing behind") {
    // One server first, so helper threads of the runtime (ThreadSanitizer starts one
    // with the first thread) are counted in "before".
    { course::LocalServer warm_up; }
    bool have_proc = fs::exists("/proc/self/task") && fs::exists("/proc/self/fd");
    std::size_t threads_before = have_proc ? course::live_threads_baseline() : 0;
    std::size_t files_before = have_proc ? entries_in("/proc/self/fd") : 0;
    for (int round = 0; round < 30; ++round) {
        std::optional<BlockingClient> client;
        {
            course::LocalServer server({.threads = unsigned(1 + round % 3)});
            client.emplace(server.port());
            REQUIRE(client->get("/bytes/4").result_int() == 200);
            // A request that would wait a minute: the destructor must not wait for it.
            client->send_raw("GET /delay/60000 HTTP/1.1\r\nHost: x\r\n\r\n");
            while (server.stats().in_flight == 0) std::this_thread::yield();
        }
        CHECK(client->closed_by_server());  // its socket was closed by the destructor
    }
    if (have_proc) {
        // A just-joined thread can linger in /proc for a moment: let the count settle.
        CHECK(course::live_threads_at_most(threads_before) == threads_before);
        CHECK(entries_in("/proc/self/fd") == files_before);
    }
}
