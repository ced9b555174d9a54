// Tests of course::coro::gather. Concurrency is proven without clocks, twice: first by a
// rendezvous (every request must arrive before any may finish: a sequential gather
// leaves the first one waiting, and run_for reports it instead of hanging), then by the
// local server's peak_in_flight counter. "One thread" is proven by thread ids.
#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/local_server.hpp"
#include "common/not_implemented.hpp"
#include "coro.hpp"
#include "course_catch.hpp"
#include "loop_bounds.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using course::coro::gather;
using course::coro::Response;
using course::coro::Result;
using coro_test::run_for;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// ---- a rendezvous: n request coroutines meet before any may answer

struct Rendezvous {
    std::size_t expected = 0;
    std::size_t arrived = 0;
    asio::steady_timer* everyone_here = nullptr;   // lives in the driving coroutine's frame
};

// A stand-in for a request: it arrives, waits until all `expected` have arrived (the
// last one to arrive opens the gate for all), then answers.
awaitable<Response> meet_then_answer(std::string url, Rendezvous* meeting) {
    if (++meeting->arrived == meeting->expected) {
        meeting->everyone_here->cancel();
    } else {
        co_await meeting->everyone_here->async_wait(asio::as_tuple(use_awaitable));
    }
    co_return Response{200, "answer to " + url};
}

awaitable<std::vector<Result>> gather_at_rendezvous(std::vector<std::string> urls, Rendezvous* meeting) {
    asio::steady_timer everyone_here(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    meeting->everyone_here = &everyone_here;
    auto results = co_await gather(std::move(urls), [meeting](std::string url) {
        return meet_then_answer(std::move(url), meeting);   // a named coroutine: see loop_bounds.hpp
    });
    meeting->everyone_here = nullptr;
    co_return results;
}

// ---- thread ids

struct ThreadLog {
    std::mutex mutex;
    std::vector<std::thread::id> ids;
    void note() {
        std::lock_guard lock(mutex);
        ids.push_back(std::this_thread::get_id());
    }
};

// A real request, noting the thread it starts on and the thread it is resumed on.
awaitable<Response> get_noting_threads(std::string url, ThreadLog* log) {
    log->note();
    auto response = co_await course::coro::http_get(std::move(url));
    log->note();
    co_return response;
}

awaitable<std::vector<Result>> gather_noting_threads(std::vector<std::string> urls, ThreadLog* log) {
    co_return co_await gather(std::move(urls), [log](std::string url) { return get_noting_threads(std::move(url), log); });
}

// A loopback port that refuses connections: bound, never listening. It stays refused
// while the object lives (nobody else can bind it).
class RefusedPort {
public:
    RefusedPort() : acceptor_(io_) {
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
    }

private:
    asio::io_context io_;
    tcp::acceptor acceptor_;
};

std::vector<std::string> repeat(const std::string& url, std::size_t n) { return std::vector<std::string>(n, url); }

const std::string did_not_finish =
    "gather did not return within 10 s: does it wait for a request that can only finish once the others have "
    "started, or (with no URLs) for nothing at all?";

}  // namespace

// Rule: "All requests are in flight at once: gather starts every request before it waits
// for any of them."
TEST_CASE("gather starts every request before any has to finish (a rendezvous under run_for)") {
    for (std::size_t n : {2u, 5u, 50u}) {
        CAPTURE(n);
        Rendezvous meeting{n};
        std::vector<std::string> urls;
        for (std::size_t i = 0; i < n; ++i) urls.push_back("http://rendezvous.invalid/" + std::to_string(i));
        auto results = run_for(gather_at_rendezvous(urls, &meeting));
        INFO("requests that had started when the loop stopped: " << meeting.arrived << " of " << n);
        if (!results)
            FAIL("gather is not concurrent: the requests wait for each other to arrive, and only "
                 << meeting.arrived << " of " << n
                 << " had started after 10 s. Does gather co_await each request before starting the next?");
        REQUIRE(results->size() == n);
        for (std::size_t i = 0; i < n; ++i) CHECK((*results)[i].response.value().body == "answer to " + urls[i]);
    }
}

// Rule: "All requests are in flight at once" (seen by the server: n requests to /delay
// are all being answered at the same moment).
TEST_CASE("gather of n delayed requests has all n in flight at the server at once") {
    constexpr std::size_t n = 20;
    // They overlap only if all 20 reach the server before the first delay ends: on a
    // loaded machine (or under a sanitizer) a partial overlap is retried with a longer
    // delay, as the server's own tests do. One at a time (peak 1) is not retried.
    for (int delay_ms = 300;; delay_ms *= 2) {
        course::LocalServer server;
        auto results = run_for(gather(repeat(server.url() + "/delay/" + std::to_string(delay_ms), n)), 30s);
        if (!results) FAIL("gather of " << n << " requests to /delay/" << delay_ms << " did not return within 30 s");
        REQUIRE(results->size() == n);
        for (auto& r : *results) CHECK(r.response.value().status == 200);
        auto s = server.stats();
        CHECK(s.requests_served == n);
        if (s.peak_in_flight == n || s.peak_in_flight <= 1 || delay_ms >= 4800) {
            INFO("requests in flight at the server at once (peak_in_flight) with /delay/"
                 << delay_ms << ": 1 means one after another");
            CHECK(s.peak_in_flight == n);
            break;
        }
        WARN("only " << s.peak_in_flight << " of " << n << " requests were in flight together with /delay/"
                     << delay_ms << " (slow machine or sanitizer): retrying with a longer delay");
    }
}

// Rule: "Results come back in the order of `urls`, whatever order the requests finish in."
TEST_CASE("gather returns results in request order, not completion order") {
    course::LocalServer server;
    RefusedPort refused;
    const std::vector<std::string> urls{
        server.url() + "/delay/1000",        // finishes last, by far
        server.url() + "/chunk/1?size=16",
        server.url() + "/status/503",
        refused.url("/chunk/9"),
        server.url() + "/chunk/2?size=32",
    };
    auto results = run_for(gather(urls));
    if (!results) FAIL(did_not_finish);
    REQUIRE(results->size() == urls.size());
    for (std::size_t i = 0; i < urls.size(); ++i) {
        CAPTURE(i);
        CHECK((*results)[i].url == urls[i]);
    }
    const auto& r = *results;
    REQUIRE(r[0].ok());
    CHECK(r[0].response->status == 200);
    CHECK_THAT(r[0].response->body, ContainsSubstring("\"delay_ms\":1000"));
    REQUIRE(r[1].ok());
    CHECK(r[1].response->body == course::chunk_bytes(1, 16));
    REQUIRE(r[2].ok());
    CHECK(r[2].response->status == 503);
    CHECK_FALSE(r[3].ok());
    REQUIRE(r[4].ok());
    CHECK(r[4].response->body == course::chunk_bytes(2, 32));
}

// Rule: "A request that fails (no answer) gives a Result holding its error, which names
// the URL; gather does not throw for it, and every other request keeps its answer."
TEST_CASE("gather keeps every result when some requests fail and names each failing URL") {
    course::LocalServer server;
    RefusedPort refused;
    const std::vector<std::string> urls{
        server.url() + "/chunk/0?size=8",
        refused.url("/status/200"),
        server.url() + "/status/503",
        "ftp://not-http.invalid/file",
        server.url() + "/chunk/3?size=8",
    };
    std::optional<std::vector<Result>> results;
    try {
        results = run_for(gather(urls));
    } catch (const course::not_implemented&) {
        throw;
    } catch (const std::exception& e) {
        FAIL("gather threw for one failed request instead of returning its error as a Result: " << e.what());
    }
    if (!results) FAIL(did_not_finish);
    REQUIRE(results->size() == urls.size());
    const auto& r = *results;
    CHECK(r[0].ok());
    CHECK(r[0].response.value().body == course::chunk_bytes(0, 8));
    CHECK_FALSE(r[1].ok());
    CHECK_THAT(r[1].error, ContainsSubstring(urls[1]));
    CHECK(r[2].response.value().status == 503);   // an answer, not an error
    CHECK_FALSE(r[3].ok());
    CHECK_THAT(r[3].error, ContainsSubstring(urls[3]));
    CHECK(r[4].response.value().body == course::chunk_bytes(3, 8));
}

// Rule: "gather runs on the executor of the coroutine that awaits it: one thread, one
// loop; it starts no threads and uses no thread pool."
TEST_CASE("gather runs every request on the thread that awaits it") {
    course::LocalServer server;
    ThreadLog log;
    auto results = run_for(gather_noting_threads(repeat(server.url() + "/delay/50", 8), &log));
    if (!results) FAIL(did_not_finish);
    CHECK(results->size() == 8);
    std::lock_guard lock(log.mutex);
    CHECK(log.ids.size() == 16);   // each request noted its start and its resumption
    const auto here = std::this_thread::get_id();
    std::size_t elsewhere = std::size_t(std::count_if(log.ids.begin(), log.ids.end(), [&](auto id) { return id != here; }));
    INFO("request steps that ran on a thread other than the one awaiting gather");
    CHECK(elsewhere == 0);
}

// Rule: "gather of no URLs returns an empty vector at once." (Asio's ranged
// parallel_group of zero operations never completes.)
TEST_CASE("gather of no URLs completes at once with no results") {
    auto results = run_for(gather({}), 5s);
    if (!results) FAIL("gather({}) did not return within 5 s: an empty group of operations never completes");
    CHECK(results->empty());
}
