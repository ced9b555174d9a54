// Small tools the sections of lesson 05 share (see parts.hpp).
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "parts.hpp"

namespace lesson05 {

std::vector<std::string> original_request_urls() {
    // The original notebook drew random.randint(1, 3) five times and got these.
    return {"https://httpbin.org/delay/3", "https://httpbin.org/delay/1", "https://httpbin.org/delay/3",
            "https://httpbin.org/delay/2", "https://httpbin.org/delay/1"};
}

std::optional<Counters> server_counters(const std::string& base) {
    try {
        auto response = course::coro::run_on_one_thread(course::coro::http_get(base + "/stats"));
        if (response.status != 200) return std::nullopt;
        auto json = nlohmann::json::parse(response.body);
        return Counters{json.at("peak_in_flight").get<long long>(), json.at("in_flight").get<long long>(),
                        json.at("requests_served").get<long long>(), json.at("connections_opened").get<long long>()};
    } catch (const std::exception&) {
        return std::nullopt;   // not our server, or no /stats: the caller says "n/a"
    }
}

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages_total = 0, pages_resident = 0;
    if (!(statm >> pages_total >> pages_resident)) return 0;
    return pages_resident * std::size_t(::sysconf(_SC_PAGESIZE));
}

std::uint64_t hash_for(std::chrono::milliseconds duration) {
    auto end = course::Clock::now() + duration;
    std::uint64_t hash = 14695981039346656037ull;   // FNV-1a offset basis
    std::uint64_t i = 0;
    while (course::Clock::now() < end)
        for (int k = 0; k < 4096; ++k, ++i) hash = (hash ^ (i & 0xff)) * 1099511628211ull;
    return hash;
}

std::string human(double seconds) { return course::format_duration(seconds); }

bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

}  // namespace lesson05
