// A local HTTP server for the lessons and tests: it stands in for httpbin.org and for a
// remote chunk store, on 127.0.0.1 only, with latency, connection cost and failures you
// choose, and counters that prove what a client did (how many connections, how many
// requests at once) without timing anything.
//
//   course::LocalServer server({.latency = 5ms});
//   auto url = server.url();                 // "http://127.0.0.1:PORT"
//   ... GET url + "/delay/200", "/chunk/7?size=4096", "/status/503", ...
//   CHECK(server.stats().peak_in_flight <= 8);
//   // leaving the scope stops the server: no thread or socket left behind
//
// Endpoints (GET or HEAD):
//   /delay/{ms}          waits ms milliseconds (0..60000) without blocking a thread,
//                        then answers {"delay_ms": ms, "request": id}
//   /chunk/{i}?size=N    the bytes chunk_bytes(i, N) (N defaults to 1024)
//   /bytes/{n}           n deterministic bytes (chunk_bytes(0, n))
//   /status/{code}       an empty response with that status (200..599)
//   /flaky/{key}?fail=K  503 with "Retry-After: S" to the first K requests for that key,
//                        then 200 with body "ok {key} after K failures"; S is the query's
//                        retry_after (seconds, default 0; "none" sends no header). Counted
//                        per key in ServerStats::flaky, so a test sees every retry.
//   /files/{name}        a file of options.files_dir (no "..", no absolute paths, no
//                        symlinks that leave the folder: 403)
//   /stats               the counters as JSON (not counted, never delayed or failed)
// Anything else is 404; a request Beast cannot parse is 400 and closes the connection.
//
// The implementation (Boost.Beast on Asio, C++20 coroutines) is in local_server.cpp;
// this header needs no Boost, so including it costs nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace course {

struct ServerOptions {
    std::chrono::milliseconds latency{0};       // every request waits this long first
    std::chrono::milliseconds connect_cost{0};  // and the first one on a connection this
                                                // much more (as TCP + TLS setup would)
    double failure_rate = 0;                    // this fraction of requests answers 503
    std::uint64_t failure_seed = 1;             // same seed, same requests fail
    std::size_t max_connections = 0;            // open at once; 0 = unlimited. Beyond it a
                                                // connection gets one 503 and is closed.
    std::string files_dir;                      // folder served under /files/ ("" = none)
    unsigned threads = 2;                       // threads running the io_context
    std::uint16_t port = 0;                     // 0 = any free port (see port())
    std::string address = "127.0.0.1";          // loopback only: anything else throws
};

// A snapshot of the counters. /stats requests are not counted.
struct ServerStats {
    std::uint64_t connections_opened = 0;   // connections accepted and served
    std::uint64_t connections_refused = 0;  // closed at once because of max_connections
    std::uint64_t connections_open = 0;     // open now
    std::uint64_t peak_connections_open = 0;
    std::uint64_t requests_served = 0;      // responses produced (any status)
    std::uint64_t requests_failed = 0;      // of which 503 injected by failure_rate
    std::uint64_t in_flight = 0;            // requests read whose response is not yet sent
    std::uint64_t peak_in_flight = 0;
    std::map<std::string, std::uint64_t> flaky;  // requests per /flaky/{key}, any answer
};

// The deterministic bytes of chunk `index`: the same index and size always give the same
// bytes, and a chunk of size n is the first n bytes of any longer chunk with its index.
std::string chunk_bytes(std::uint64_t index, std::size_t size);

class LocalServer {
public:
    // Binds and starts serving before returning. Throws std::invalid_argument for a
    // non-loopback address or bad option, std::system_error if the port is taken.
    explicit LocalServer(ServerOptions options = {});
    // Stops the server: in-flight requests are abandoned (a /delay wait ends at once),
    // every connection is closed and every thread joined.
    ~LocalServer();
    LocalServer(const LocalServer&) = delete;
    LocalServer& operator=(const LocalServer&) = delete;

    std::string url() const;           // "http://127.0.0.1:PORT", no trailing slash
    std::string host() const;          // "127.0.0.1"
    std::uint16_t port() const;        // the port actually bound
    const ServerOptions& options() const;

    ServerStats stats() const;
    // Zeroes the counters (and forgets every /flaky key); in_flight and connections_open keep counting what is open now
    // (and become the new peaks).
    void reset_stats();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace course
