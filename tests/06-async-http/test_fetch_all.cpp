// Tests of course::http::fetch_all. Witnesses, not clocks: the local server counts the
// requests in flight at once and the connections opened; /chunk bodies are checked byte
// for byte; a port that refuses and a 404 sit among good URLs.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_test_tools.hpp"

using course::http::fetch_all;
using course::http::Result;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> chunk_urls(const course::LocalServer& server, std::size_t n, std::size_t size) {
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < n; ++i)
        urls.push_back(server.url() + "/chunk/" + std::to_string(i) + "?size=" + std::to_string(size));
    return urls;
}

}  // namespace

// Rule: "One Result per URL, in the order of `urls`, whatever order the transfers
// finish in." The first URLs wait longest, so they finish last: results kept in
// completion order come out reversed.
TEST_CASE("results come back in the order of the urls even when later urls finish first") {
    course::LocalServer server;
    std::vector<std::string> urls;
    for (int ms : {400, 300, 200, 100, 0}) urls.push_back(server.url() + "/delay/" + std::to_string(ms));
    auto results = fetch_all(urls, 5);
    REQUIRE(results.size() == urls.size());
    int expected[] = {400, 300, 200, 100, 0};
    for (std::size_t i = 0; i < urls.size(); ++i) {
        INFO("result " << i << " for " << urls[i] << ": " << results[i]);
        REQUIRE(results[i].ok());
        CHECK(nlohmann::json::parse(results[i].body)["delay_ms"] == expected[i]);
    }
}

// Rule: "`body` holds the answer's bytes exactly (it may contain '\0')." /chunk bodies
// are random bytes with zeros among them: text handling (strlen, c_str) cuts them short.
TEST_CASE("every body equals the chunk bytes of its url byte for byte") {
    course::LocalServer server;
    auto urls = chunk_urls(server, 40, 3000);
    auto results = fetch_all(urls, 4);
    REQUIRE(results.size() == urls.size());
    for (std::size_t i = 0; i < urls.size(); ++i) {
        INFO("result " << i << " for " << urls[i] << ": " << results[i]);
        CHECK(results[i].status == 200);
        CHECK(results[i].error.empty());
        CHECK(results[i].body == course::chunk_bytes(i, 3000));
    }
}

// Rule: "At most `max_concurrency` transfers at once." and "Up to `max_concurrency`
// transfers at once: not one after another." The server holds each request 30 ms, so
// transfers that overlap are seen in flight together.
TEST_CASE("100 requests with a limit of 10 keep between 2 and 10 in flight at once") {
    course::LocalServer server({.latency = 30ms});
    auto results = fetch_all(chunk_urls(server, 100, 64), 10);
    for (const auto& r : results) REQUIRE(r.ok());
    auto stats = server.stats();
    INFO("server saw at most " << stats.peak_in_flight << " requests in flight at once");
    CHECK(stats.requests_served == 100);
    CHECK(stats.peak_in_flight <= 10);
    CHECK(stats.peak_in_flight >= 2);
}

// Rule: "At most `max_concurrency` transfers at once." with a limit of 1: one at a time.
TEST_CASE("a limit of 1 sends one request at a time") {
    course::LocalServer server({.latency = 10ms});
    auto results = fetch_all(chunk_urls(server, 12, 64), 1);
    for (const auto& r : results) REQUIRE(r.ok());
    CHECK(server.stats().peak_in_flight == 1);
}

// Rule: "Connections are kept and reused: 100 GETs to one server with a limit of 10 open
// at most 10 connections." (A new connection per request pays the connect cost each time:
// the original material's 342 s against 98 s.)
TEST_CASE("100 requests with a limit of 10 open at most 10 connections") {
    course::LocalServer server({.latency = 5ms});
    auto results = fetch_all(chunk_urls(server, 100, 64), 10);
    for (const auto& r : results) REQUIRE(r.ok());
    auto stats = server.stats();
    INFO("the server accepted " << stats.connections_opened << " connections for 100 requests");
    CHECK(stats.connections_opened <= 10);
    CHECK(stats.connections_opened >= 1);
}

// Rule: "As soon as one transfer ends, the next URL takes its place: a window that slides,
// not batches that each wait for their slowest." The first URL takes 4 s; the last URL is
// /stats, which the server answers at once with its counters. With a sliding window the
// other slot works through the quick URLs and reaches /stats while the slow request is
// still in flight; in batches of 2, /stats comes after the slow batch has ended.
TEST_CASE("a slow request holds only its own slot: the others keep going past it") {
    course::LocalServer server;
    std::vector<std::string> urls{server.url() + "/delay/4000"};
    for (int i = 0; i < 9; ++i) urls.push_back(server.url() + "/delay/1");
    urls.push_back(server.url() + "/stats");
    auto results = fetch_all(urls, 2);
    REQUIRE(results.size() == urls.size());
    for (const auto& r : results) REQUIRE(r.ok());
    auto stats = nlohmann::json::parse(results.back().body);
    INFO("when /stats was fetched the server had " << stats["in_flight"] << " request(s) in flight and had served "
                                                   << stats["requests_served"]);
    CHECK(stats["in_flight"] == 1);        // the slow one, still waiting
    CHECK(stats["requests_served"] == 9);  // every quick one, done before it
}

// Rule: "A failed transfer gets its error in its own slot and never loses the others:
// `status` 0 and an error naming the URL when no answer came; the status and an error
// naming the URL for an answer that is not 2xx."
TEST_CASE("a refused port and a 404 give errors in their slots and the others succeed") {
    course::LocalServer server;
    http_test::RefusingPort refusing;
    std::vector<std::string> urls{server.url() + "/chunk/0?size=10", refusing.url() + "/chunk/1",
                                  server.url() + "/chunk/2?size=10", server.url() + "/no/such/thing",
                                  server.url() + "/chunk/4?size=10", server.url() + "/status/503"};
    auto results = fetch_all(urls, 3);
    REQUIRE(results.size() == urls.size());
    for (std::size_t i : {0u, 2u, 4u}) {
        INFO("result " << i << " for " << urls[i] << ": " << results[i]);
        CHECK(results[i].ok());
        CHECK(results[i].status == 200);
        CHECK(results[i].body == course::chunk_bytes(i, 10));
    }
    INFO("refused: " << results[1]);
    CHECK(results[1].status == 0);
    CHECK_THAT(results[1].error, ContainsSubstring(urls[1]));
    INFO("404: " << results[3]);
    CHECK(results[3].status == 404);
    CHECK_THAT(results[3].error, ContainsSubstring(urls[3]));
    CHECK_THAT(results[3].error, ContainsSubstring("404"));
    INFO("503: " << results[5]);
    CHECK(results[5].status == 503);
    CHECK_THAT(results[5].error, ContainsSubstring(urls[5]));
}

// Rule: "`fetch_all` of no URLs returns no results; a `max_concurrency` of 0 throws
// std::invalid_argument."
TEST_CASE("no urls give no results and a limit of 0 is refused") {
    CHECK(fetch_all({}, 4).empty());
    course::LocalServer server;
    CHECK_THROWS_AS(fetch_all({server.url() + "/status/200"}, 0), std::invalid_argument);
}
