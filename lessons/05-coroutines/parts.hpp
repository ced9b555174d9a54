// What the sections of lesson 05 share: its settings, the server it talks to, and a few
// small tools.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/lesson.hpp"
#include "common/local_server.hpp"
#include "coro.hpp"

namespace lesson05 {

struct Settings {
    int unit_ms = 100;              // one "second" of the original material's delays
    std::size_t n = 0;              // requests of the scale section (0 = 1,000 and 10,000)
    std::string url;                // an external server instead of the built-in one
    std::unique_ptr<course::LocalServer> server;   // the built-in one (when url is empty)

    std::string base() const { return url.empty() ? server->url() : url; }
    std::chrono::milliseconds unit() const { return std::chrono::milliseconds(unit_ms); }
};

// The original material's request list: five GETs of httpbin.org/delay/{1..3} with the
// delays it drew (seconds there; units here).
std::vector<std::string> original_request_urls();

// The server's counters, read over HTTP from GET {base}/stats (so it works for a server
// in another process too); an empty optional when the server has no /stats.
struct Counters {
    long long peak_in_flight = 0, in_flight = 0, requests_served = 0, connections_opened = 0;
};
std::optional<Counters> server_counters(const std::string& base);

// Resident memory of this process in bytes (from /proc/self/statm; 0 without /proc).
std::size_t resident_bytes();

// Spins the CPU on an FNV-1a hash loop for `duration` (a computation, not a wait) and
// returns the hash, so the compiler cannot drop the work.
std::uint64_t hash_for(std::chrono::milliseconds duration);

// "0.123 s" / "12.3 ms" / "456 ns": short human durations for prose lines.
std::string human(double seconds);

// True in a build with AddressSanitizer or ThreadSanitizer (fibers are skipped there).
bool sanitized_build();

// The server process of the scale section (this program run with --serve-for-scale).
int serve_for_scale();

void event_loop_section(course::Lesson& lesson, const Settings& s);
void co_await_section(course::Lesson& lesson, const Settings& s);
void original_experiment_section(course::Lesson& lesson, const Settings& s);
void scale_section(course::Lesson& lesson, const Settings& s);
void failures_section(course::Lesson& lesson, const Settings& s);
void blocking_section(course::Lesson& lesson, const Settings& s);
void fibers_section(course::Lesson& lesson, const Settings& s);

}  // namespace lesson05
