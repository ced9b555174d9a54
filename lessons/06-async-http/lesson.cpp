// Lesson 06: many small HTTP requests, the zarr case. A Zarr array of 6,443 float64 in
// 1,289 chunks of 5 values: 1,289 GETs of ~22 bytes each. The server answers each one
// after `latency`, and the first one on a new connection after `connect` more (TCP and
// TLS setup, over the internet). What decides the time is how the requests are arranged:
//
//   1. a new connection per chunk    |c r|c r|c r|c r|c r|c r| ...   n × (connect + latency)
//   2. one kept-alive connection     |c r|r|r|r|r|r|r|r|r|r| ...     connect + n × latency
//   3. all in flight (curl multi)    |c r|                           connect + latency
//      one thread, 1,289 sockets     |c r|                           (+ the CPU to do it all)
//                                    |c r|  ...
//   4. a window of `limit` (10)      |c r|r|r|r|r|r| ...             ceil(n / 10) × latency
//      10 connections, refilled      |c r|r|r|r|r|r| ...               + connect
//      as each transfer completes    |c r|r|r|r|r|r| ...
//
//   c = connect cost, r = one request's latency; each row is one connection.
//
// Sections: 1-2. libcurl easy: a new connection per chunk vs one reused connection.
// 3. curl multi, every chunk in flight at once, and what limits it on 2 cores.
// 4. a limit of 10 and 64: CURLMOPT_MAX_TOTAL_CONNECTIONS vs a refill loop (fetch_all).
// 5. the same window with Beast on Asio coroutines. 6. getitems: a blocking API over
// asynchronous internals, decompression on a compute pool. 7. failures: retries with
// backoff and jitter. 8. waves vs a sliding window. 9. HTTP/2: every stream on one
// connection. 10. the original material's table, Python's, ours, and the real zarr.
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "parts.hpp"

namespace {

// curl_global_init before any thread uses curl, curl_global_cleanup at the very end.
struct CurlGlobal {
    CurlGlobal() {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    }
    ~CurlGlobal() { curl_global_cleanup(); }
};

// Section 3 holds a connection per chunk at both ends, and both ends are this process:
// 2 × 1,289 descriptors, more than the usual soft limit of 1,024.
void raise_open_files_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

}  // namespace

int main(int argc, char** argv) {
    course::Lesson lesson("06-async-http", "many small HTTP requests: the zarr case");
    lesson06::Settings s;
    lesson.add_options()
        ("chunks", po::value(&s.chunks)->value_name("N"), "chunks of the store, 5 values each (default 1289; --quick 100)")
        ("latency-ms", po::value(&s.latency_ms)->value_name("MS"), "the server's latency per request (default 4)")
        ("connect-cost-ms", po::value(&s.connect_cost_ms)->value_name("MS"),
         "extra latency of the first request on a new connection (default 10)")
        ("limit", po::value(&s.limit)->value_name("N"), "transfers in flight at once in sections 4-8 (default 10)")
        ("url", po::value(&s.url)->value_name("URL"),
         "read the store from this server instead of the built-in one: a base URL under which arange.zarr/ "
         "lives (its counters from {URL}/stats, or /stats at its host's root, when it has them)");
    return lesson.run(argc, argv, [&] {
        if (s.latency_ms < 0 || s.connect_cost_ms < 0)
            throw std::invalid_argument("--latency-ms and --connect-cost-ms must not be negative");
        if (s.limit == 0) throw std::invalid_argument("--limit must be at least 1");
        while (!s.url.empty() && s.url.back() == '/') s.url.pop_back();
        s.quick = lesson.quick();
        raise_open_files_limit();
        CurlGlobal curl;

        // The store: 5 values per chunk, as in the original material (6,443 values: 1,289 chunks,
        // the last one padded); --chunks N makes 5 × N values. Written once into the cache.
        if (s.chunks != 0) s.zarr = {.values = 5 * s.chunks, .chunk = 5, .level = 1};
        else if (s.quick) s.zarr = {.values = 500, .chunk = 5, .level = 1};
        auto dir = course::datasets::default_zarr_dir(s.zarr);
        if (s.url.empty()) {
            if (!std::filesystem::exists(dir / ".zarray")) std::printf("writing the store %s once\n", dir.c_str());
            course::datasets::ensure_zarr_store(dir, s.zarr);
            s.server = std::make_unique<course::LocalServer>(s.server_options());
        }
        s.store = lesson06::open_store(s.store_url_for(dir));
        if (s.server) {
            std::printf("server: %s (built in, on loopback, 2 threads, in this process), serving %s under /files/\n",
                        s.server->url().c_str(), lesson06::cache_dir().c_str());
        } else {
            s.stats_url = lesson06::find_stats_url(s.url);
            std::printf("server: %s (--url); its counters: %s\n", s.url.c_str(),
                        s.stats_url.empty() ? "n/a (no /stats)" : s.stats_url.c_str());
        }
        std::printf("  latency %d ms per request, connect cost %d ms more for the first request on a connection%s\n"
                    "  (the original material's ratio: there a new connection cost about 2.5x a request on a kept one)\n",
                    s.latency_ms, s.connect_cost_ms,
                    s.server ? "" : "\n  (--url: the server sets them; these values only make the bounds)");
        std::printf("store: %s\n  %zu float64 (0 .. %zu) in %zu chunks of %zu values, zlib level 1; limit %zu\n",
                    s.store.url.c_str(), s.store.values, s.store.values - 1, s.store.chunks(), s.store.chunk, s.limit);

        lesson06::new_connection_each_section(lesson, s);
        lesson06::one_connection_section(lesson, s);
        lesson06::all_in_flight_section(lesson, s);
        lesson06::limits_section(lesson, s);
        lesson06::beast_section(lesson, s);
        lesson06::getitems_section(lesson, s);
        lesson06::failures_section(lesson, s);
        lesson06::waves_section(lesson, s);
        lesson06::http2_section(lesson, s);
        lesson06::comparison_section(lesson, s);
    });
}
