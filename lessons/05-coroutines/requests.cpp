// Sections 3 and 5: the original material's five delayed requests, one after another vs
// gathered; then failures inside a gather, and a timeout that really cancels.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "functional.hpp"   // topic 01: delays_from_urls and reduce
#include "parts.hpp"

namespace lesson05 {

namespace asio = boost::asio;
namespace fn = course::functional;
using asio::awaitable;
using asio::use_awaitable;
using course::Clock;
using course::coro::gather;
using course::coro::http_get;
using course::coro::Response;
using course::coro::Result;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// "http://127.0.0.1:PORT/delay/300?request=2" -> 2 (the lane of the timeline).
int request_number(const std::string& url) { return std::stoi(url.substr(url.rfind('=') + 1)); }

// One GET, recorded on the timeline lane "request N". A named coroutine taking its
// parameters by value, so the frame owns what it uses.
awaitable<Response> recorded_get(std::string url, course::Recorder* rec) {
    auto start = Clock::now();
    auto response = co_await http_get(url);
    rec->record_on("request " + std::to_string(request_number(url)), "GET " + url.substr(url.find("/delay")), start,
                   Clock::now());
    co_return response;
}

// One after another: each co_await waits for its answer before the next request starts.
awaitable<std::vector<Result>> one_after_another(std::vector<std::string> urls, course::Recorder* rec) {
    std::vector<Result> results;
    for (auto& url : urls) {
        Result r{url, std::nullopt, {}};
        try {
            r.response = co_await recorded_get(url, rec);
        } catch (const std::exception& e) {
            r.error = e.what();
        }
        results.push_back(std::move(r));
    }
    co_return results;
}

awaitable<std::vector<Result>> all_gathered(std::vector<std::string> urls, course::Recorder* rec) {
    co_return co_await gather(std::move(urls), [rec](std::string url) { return recorded_get(std::move(url), rec); });
}

bool all_answered(const std::vector<Result>& results) {
    return std::all_of(results.begin(), results.end(), [](const Result& r) { return r.ok() && r.response->status == 200; });
}

// ---- section 5's peer: accepts one connection, never answers, notes when it is closed

struct PeerLog {
    Clock::time_point closed_at{};
};

awaitable<void> silent_peer(tcp::acceptor acceptor, PeerLog* log) {
    auto socket = co_await acceptor.async_accept(use_awaitable);
    char sink[4096];
    for (;;) {
        auto [error, n] = co_await socket.async_read_some(asio::buffer(sink), asio::as_tuple(use_awaitable));
        (void)n;
        if (error) break;   // end of stream: the client closed its socket
    }
    log->closed_at = Clock::now();
}

struct CancelOutcome {
    bool timed_out = false;
    double returned_after = 0;   // seconds from the start to with_timeout's return
    double closed_after = -1;    // seconds from the start to the peer seeing the close
};

awaitable<CancelOutcome> time_out_silent_request(std::chrono::milliseconds limit, PeerLog* log) {
    auto executor = co_await asio::this_coro::executor;
    tcp::acceptor acceptor(executor, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    auto url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/never-answered";
    asio::co_spawn(executor, silent_peer(std::move(acceptor), log), asio::detached);
    auto start = Clock::now();
    auto got = co_await course::coro::with_timeout(http_get(url), limit);
    CancelOutcome out{!got.has_value(), std::chrono::duration<double>(Clock::now() - start).count(), -1};
    // Give the peer a moment (bounded) to read the end of stream.
    for (int i = 0; i < 100 && log->closed_at == Clock::time_point{}; ++i) {
        asio::steady_timer tick(executor, 10ms);
        co_await tick.async_wait(use_awaitable);
    }
    if (log->closed_at != Clock::time_point{})
        out.closed_after = std::chrono::duration<double>(log->closed_at - start).count();
    co_return out;
}

struct DelayTimeout {
    bool timed_out = false;
    double returned_after = 0;
    std::optional<long long> in_flight_after;   // the server's count once we returned
};

awaitable<DelayTimeout> time_out_long_delay(std::string base, std::chrono::milliseconds limit) {
    auto start = Clock::now();
    auto got = co_await course::coro::with_timeout(http_get(base + "/delay/10000"), limit);
    co_return DelayTimeout{!got.has_value(), std::chrono::duration<double>(Clock::now() - start).count(), {}};
}

// An operation that ignores cancellation: its wait is bound to an empty cancellation
// slot, so the signal with_timeout emits reaches nobody. with_timeout must then wait for it.
awaitable<int> deaf_wait(std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(asio::bind_cancellation_slot(asio::cancellation_slot(), use_awaitable));
    co_return 1;
}

awaitable<double> time_out_deaf_wait(std::chrono::milliseconds duration, std::chrono::milliseconds limit) {
    auto start = Clock::now();
    co_await course::coro::with_timeout(deaf_wait(duration), limit);
    co_return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string describe(const Result& r) {
    if (!r.ok()) return "error: " + r.error;
    const std::string& body = r.response->body;
    bool text = std::all_of(body.begin(), body.end(), [](char c) { return c == '\n' || (c >= ' ' && c < 127); });
    std::string shown = text ? body.substr(0, body.find('\n')) : std::to_string(body.size()) + " bytes";
    return std::to_string(r.response->status) + (shown.empty() ? "" : "  " + shown);
}

}  // namespace

void original_experiment_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("3. The original material's experiment: 5 delayed requests, one after another vs gathered");
    auto delays = fn::delays_from_urls(original_request_urls());                                 // map
    int sum = fn::reduce(delays, 0, [](int a, int b) { return a + b; });                         // reduce
    int longest = fn::reduce(delays, 0, [](int a, int b) { return std::max(a, b); });            // reduce
    std::printf("The original notebook requested httpbin.org/delay/{3,1,3,2,1}: map gives the delays, reduce\n"
                "gives sum %d and max %d. Here one unit is %d ms on %s.\n",
                sum, longest, s.unit_ms, s.url.empty() ? "the built-in server" : s.url.c_str());
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < delays.size(); ++i)
        urls.push_back(s.base() + "/delay/" + std::to_string(delays[i] * s.unit_ms) + "?request=" + std::to_string(i));

    course::Recorder sequential_rec, gathered_rec;
    course::Stopwatch watch;
    auto sequential = course::coro::run_on_one_thread(one_after_another(urls, &sequential_rec));
    double sequential_s = watch.seconds();
    watch.restart();
    auto gathered = course::coro::run_on_one_thread(all_gathered(urls, &gathered_rec));
    double gathered_s = watch.seconds();

    double unit = s.unit_ms / 1000.0;
    course::ResultTable table("original-experiment");
    table.add({.variant = "one after another (co_await each)", .n = urls.size(), .seconds = sequential_s,
               .bound_seconds = sum * unit, .bound = "sum of delays", .workers = 1, .ok = all_answered(sequential)});
    table.add({.variant = "gathered (all in flight, one thread)", .n = urls.size(), .seconds = gathered_s,
               .bound_seconds = longest * unit, .bound = "max delay", .workers = 1, .ok = all_answered(gathered)});
    // The original material's figures (Python requests vs asyncio + aiohttp, httpbin.org, a 1 s unit).
    auto& a = table.add({.variant = "original material: requests, one by one", .n = 5, .seconds = 11.7,
                         .bound_seconds = double(sum), .bound = "sum of delays", .workers = 1});
    a.extra["source"] = "original material (Python, httpbin.org over the internet)";
    auto& b = table.add({.variant = "original material: asyncio.gather", .n = 5, .seconds = 3.3,
                         .bound_seconds = double(longest), .bound = "max delay", .workers = 1});
    b.extra["source"] = "original material (Python, httpbin.org over the internet)";
    lesson.report(table);
    lesson.say("one after another:");
    lesson.timeline(sequential_rec, "original-experiment/one-after-another", 60);
    lesson.say("gathered:");
    lesson.timeline(gathered_rec, "original-experiment/gathered", 60);
    std::printf("  Scaled to the original 1 s unit, ours would take %.2f s and %.2f s (the original: 11.7 s and\n"
                "  3.3 s). The original's extra 1.7 s and 0.3 s were the internet: TLS handshakes and round trips\n"
                "  to httpbin.org. On loopback only the server's waits are left, so we sit on the bounds.\n",
                sequential_s / unit, gathered_s / unit);
}

void failures_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("5. Failures inside a gather, and a timeout that really cancels");
    // A port that refuses connections: bound, never listening.
    asio::io_context side;
    tcp::acceptor refusing(side);
    refusing.open(tcp::v4());
    refusing.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::string refused = "http://127.0.0.1:" + std::to_string(refusing.local_endpoint().port());
    std::vector<std::string> urls{s.base() + "/delay/" + std::to_string(2 * s.unit_ms), s.base() + "/status/503",
                                  refused + "/delay/100", s.base() + "/chunk/7?size=8", s.base() + "/status/503"};
    course::Stopwatch watch;
    auto results = course::coro::run_on_one_thread(gather(urls));
    double seconds = watch.seconds();
    lesson.say("gather of 5: two answer 503, one goes to a port that refuses connections:");
    for (std::size_t i = 0; i < results.size(); ++i)
        std::printf("  [%zu] %-44s -> %s\n", i, results[i].url.c_str(), describe(results[i]).c_str());
    lesson.say("  Every request has its Result, in request order: a 503 is an answer (a value with its");
    lesson.say("  status), a refused connection an error naming the URL. Nothing was lost, nothing threw:");
    lesson.say("  asyncio.gather(..., return_exceptions=True) in the original notebook does the same.");
    course::ResultTable table("failures");
    bool ok = results.size() == 5 && results[0].ok() && results[1].ok() && results[1].response->status == 503 &&
              !results[2].ok() && results[3].ok();
    table.add({.variant = "gather with 2x 503 and 1 refused", .n = 5, .seconds = seconds,
               .bound_seconds = 2 * s.unit_ms / 1000.0, .bound = "max delay", .workers = 1, .ok = ok});

    // The timeout. with_timeout cancels through Asio's per-operation cancellation: the
    // signal reaches the operation the request is suspended in (Beast's http::async_read
    // forwards it to the socket's read, which honours it). An operation that ignores the
    // slot is not stopped (below). The same holds for `op || timer` from
    // asio::experimental::awaitable_operators; and a parallel_group of zero operations never
    // completes, which is why gather answers an empty list itself.
    auto limit = 200ms;
    auto timed = course::coro::run_on_one_thread(time_out_long_delay(s.base(), limit));
    if (auto counters = server_counters(s.base())) timed.in_flight_after = counters->in_flight;
    PeerLog peer;
    auto cancelled = course::coro::run_on_one_thread(time_out_silent_request(limit, &peer));
    double deaf = course::coro::run_on_one_thread(time_out_deaf_wait(2 * limit, limit));
    table.add({.variant = "with_timeout(GET /delay/10000, 200 ms)", .n = 1, .seconds = timed.returned_after,
               .bound_seconds = 0.2, .bound = "the limit", .workers = 1, .ok = timed.timed_out});
    table.add({.variant = "with_timeout(GET to a silent peer, 200 ms)", .n = 1, .seconds = cancelled.returned_after,
               .bound_seconds = 0.2, .bound = "the limit", .workers = 1,
               .ok = cancelled.timed_out && cancelled.closed_after >= 0});
    table.add({.variant = "with_timeout(a wait deaf to cancel, 200 ms)", .n = 1, .seconds = deaf, .bound_seconds = 0.2,
               .bound = "the limit", .workers = 1});
    lesson.report(table);
    if (timed.in_flight_after)
        std::printf("  /delay/10000: empty after %s; the server still counts %lld request in flight: it sleeps on its\n"
                    "  /delay timer without reading the socket, so it learns of the close only when it answers.\n",
                    human(timed.returned_after).c_str(), *timed.in_flight_after);
    std::printf("  The silent peer saw the connection closed %s after the start: cancelled, not leaked.\n",
                cancelled.closed_after >= 0 ? human(cancelled.closed_after).c_str() : "NEVER (in 1 s)");
    std::printf("  The deaf wait held with_timeout for %s, its own length: cancellation is cooperative.\n",
                human(deaf).c_str());
}

}  // namespace lesson05
