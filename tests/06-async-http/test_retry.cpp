// Tests of course::http::fetch_with_retry. The server's /flaky/{key}?fail=K answers 503 to
// the first K requests for a key and counts them: the count is the witness of how many
// attempts were made. The waits are recorded through RetryPolicy::sleep instead of slept,
// so backoff, jitter and Retry-After are checked exactly, without a clock.
#include <chrono>
#include <string>
#include <vector>

#include "http_test_tools.hpp"

using course::http::fetch_with_retry;
using course::http::RetryPolicy;
using ms = std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

// A policy whose waits land in `waits` instead of sleeping.
RetryPolicy recording(std::vector<ms>& waits, int attempts, ms base = 100ms, ms max = 10'000ms) {
    return {.attempts = attempts, .base_delay = base, .max_delay = max, .sleep = [&waits](ms d) { waits.push_back(d); }};
}

std::string show(const std::vector<ms>& waits) {
    std::string out = "waits:";
    for (auto w : waits) out += " " + std::to_string(w.count()) + " ms";
    return waits.empty() ? "no waits" : out;
}

}  // namespace

// Rule: "A 503 is tried again, up to `attempts` tries in all."
TEST_CASE("a key that fails twice succeeds on the third attempt and the server saw 3 requests") {
    course::LocalServer server;
    std::vector<ms> waits;
    auto r = fetch_with_retry(server.url() + "/flaky/k?fail=2", recording(waits, 3));
    INFO(r << ", " << show(waits));
    CHECK(r.ok());
    CHECK(r.status == 200);
    CHECK(r.body == "ok k after 2 failures\n");
    CHECK(server.stats().flaky["k"] == 3);
}

// Rule: "After `attempts` tries in all it gives up: the last Result, with an error naming
// the URL and the number of attempts. There is no wait after the last try."
TEST_CASE("a key that keeps failing is tried exactly attempts times and the error says so") {
    course::LocalServer server;
    std::vector<ms> waits;
    std::string url = server.url() + "/flaky/k?fail=10";
    auto r = fetch_with_retry(url, recording(waits, 3));
    INFO(r << ", " << show(waits));
    CHECK(server.stats().flaky["k"] == 3);
    CHECK(r.status == 503);
    CHECK_FALSE(r.ok());
    CHECK_THAT(r.error, ContainsSubstring(url));
    CHECK_THAT(r.error, ContainsSubstring("3 attempts"));
    CHECK(waits.size() == 2);
}

// Rule: "Any other answer (200, 404, 500, ...) is returned at once: it is never tried again."
TEST_CASE("a 404 and a 500 are not retried") {
    course::LocalServer server;
    std::vector<ms> waits;
    for (int code : {404, 500}) {
        server.reset_stats();
        auto r = fetch_with_retry(server.url() + "/status/" + std::to_string(code), recording(waits, 4));
        INFO(r);
        CHECK(r.status == code);
        CHECK_FALSE(r.ok());
        CHECK(server.stats().requests_served == 1);
    }
    CHECK(waits.empty());
}

// Rule: "When no answer came (refused, reset, closed), it is tried again too."
TEST_CASE("a server that hangs up without answering is tried attempts times") {
    http_test::HangUpServer server;
    std::vector<ms> waits;
    auto r = fetch_with_retry(server.url() + "/x", recording(waits, 3, 1ms));
    INFO(r << ", " << show(waits));
    CHECK(r.status == 0);
    CHECK_THAT(r.error, ContainsSubstring(server.url() + "/x"));
    CHECK(server.accepted() == 3);
}

// Rule: "A 503 with `Retry-After: S` is tried again after exactly S seconds, instead of
// the backoff wait."
TEST_CASE("retry after is honoured: 0 means at once and 1 means one second") {
    course::LocalServer server;
    std::vector<ms> waits;
    CHECK(fetch_with_retry(server.url() + "/flaky/a?fail=2", recording(waits, 3)).ok());
    INFO(show(waits));
    CHECK(waits == std::vector<ms>{0ms, 0ms});
    waits.clear();
    CHECK(fetch_with_retry(server.url() + "/flaky/b?fail=2&retry_after=1", recording(waits, 3)).ok());
    CHECK(waits == std::vector<ms>{1000ms, 1000ms});
}

// Rule: "Without Retry-After the wait before try k+1 is random in [d/2, d], where
// d = base_delay × 2^(k-1)." Ten waits (recorded, not slept): 50-100, 100-200, 200-400 ms
// ... 25.6-51.2 s. (A wait drawn from [0, d] instead of [d/2, d] falls below d/2 half the
// time: in ten waits at least once on all but one run in a thousand.)
TEST_CASE("without retry after the waits double from base delay with jitter in the upper half") {
    course::LocalServer server;
    std::vector<ms> waits;
    auto r = fetch_with_retry(server.url() + "/flaky/k?fail=10&retry_after=none",
                              recording(waits, 11, 100ms, 100'000ms));
    INFO(r << ", " << show(waits));
    CHECK(r.ok());
    REQUIRE(waits.size() == 10);
    for (std::size_t k = 0; k < 10; ++k) {
        ms d = 100ms * (1 << k);
        INFO("wait " << k + 1 << " must be in [" << (d / 2).count() << ", " << d.count() << "] ms");
        CHECK(waits[k] >= d / 2);
        CHECK(waits[k] <= d);
    }
}

// Rule: "No backoff wait is longer than `max_delay`."
TEST_CASE("backoff waits stop growing at max delay") {
    course::LocalServer server;
    std::vector<ms> waits;
    fetch_with_retry(server.url() + "/flaky/k?fail=10&retry_after=none", recording(waits, 6, 100ms, 150ms));
    INFO(show(waits));
    REQUIRE(waits.size() == 5);
    for (auto w : waits) CHECK(w <= 150ms);
    for (std::size_t k = 1; k < 5; ++k) CHECK(waits[k] >= 75ms);  // half of the capped delay
}

// Rule: "The waits are random (jitter), so clients that failed together do not all come
// back together." Two clients failing the same way wait differently.
TEST_CASE("two clients that fail the same way wait differently") {
    course::LocalServer server;
    std::vector<ms> first, second;
    fetch_with_retry(server.url() + "/flaky/a?fail=4&retry_after=none", recording(first, 5, 100ms));
    fetch_with_retry(server.url() + "/flaky/b?fail=4&retry_after=none", recording(second, 5, 100ms));
    INFO("first " << show(first) << "; second " << show(second));
    REQUIRE(first.size() == 4);
    CHECK(first != second);
}

// Rule: "`attempts` below 1 throws std::invalid_argument."
TEST_CASE("fewer than one attempt is refused") {
    CHECK_THROWS_AS(fetch_with_retry("http://127.0.0.1:1/", {.attempts = 0}), std::invalid_argument);
}
