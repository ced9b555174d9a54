// Tests of course::coro::with_timeout. Witnesses, no clocks: run_for's limit says "it
// did not return" (a fast operation held up by the timer, a failure waited out), a Guard
// in the operation's frame says "the operation was really cancelled", and a silent peer
// that never answers says "the request's connection was closed".
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/local_server.hpp"
#include "coro.hpp"
#include "course_catch.hpp"
#include "loop_bounds.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using course::coro::Response;
using course::coro::with_timeout;
using coro_test::Guard;
using coro_test::run_for;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

awaitable<int> answer_now(int value) { co_return value; }

awaitable<int> fail_now() {
    throw std::runtime_error("the operation failed at once");
    co_return 0;
}

// Waits `duration` on a timer (cancellable), with a Guard in its frame.
awaitable<int> guarded_wait(std::chrono::milliseconds duration, int* destroyed) {
    Guard guard(destroyed);
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(use_awaitable);
    co_return 7;
}

struct SlowOutcome {
    bool got_value = true;
    int destroyed_when_returned = -1;
};

awaitable<SlowOutcome> time_out_guarded_wait(int* destroyed) {
    auto got = co_await with_timeout(guarded_wait(60s, destroyed), 100ms);
    co_return SlowOutcome{got.has_value(), *destroyed};
}

// ---- a peer that accepts one connection, never answers, and notes when it is closed

struct PeerLog {
    bool accepted = false;
    bool closed = false;
    asio::steady_timer* closed_signal = nullptr;   // in the driving coroutine's frame
};

awaitable<void> silent_peer(tcp::acceptor acceptor, PeerLog* log) {
    auto socket = co_await acceptor.async_accept(use_awaitable);
    log->accepted = true;
    char sink[4096];
    for (;;) {   // read the request and whatever follows, until the client closes
        auto [error, n] = co_await socket.async_read_some(asio::buffer(sink), asio::as_tuple(use_awaitable));
        (void)n;
        if (error) break;
    }
    log->closed = true;
    if (log->closed_signal) log->closed_signal->cancel();
}

struct SocketOutcome {
    bool timed_out = false;
    bool peer_saw_close = false;
    bool peer_accepted = false;
};

awaitable<SocketOutcome> time_out_request_to_silent_peer(PeerLog* log) {
    using namespace asio::experimental::awaitable_operators;
    auto executor = co_await asio::this_coro::executor;
    tcp::acceptor acceptor(executor, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/never-answered";
    asio::steady_timer closed_signal(executor, asio::steady_timer::time_point::max());
    log->closed_signal = &closed_signal;
    asio::co_spawn(executor, silent_peer(std::move(acceptor), log), asio::detached);

    auto got = co_await with_timeout(course::coro::http_get(url), 300ms);
    SocketOutcome outcome{!got.has_value(), false, false};
    // Bounded wait for the peer to read end-of-stream: the client's socket closed.
    if (!log->closed) {
        asio::steady_timer deadline(executor, 5s);
        co_await (closed_signal.async_wait(asio::as_tuple(use_awaitable)) ||
                  deadline.async_wait(asio::as_tuple(use_awaitable)));
    }
    log->closed_signal = nullptr;
    outcome.peer_saw_close = log->closed;
    outcome.peer_accepted = log->accepted;
    co_return outcome;
}

}  // namespace

// Rule: "If `op` finishes before `limit`, with_timeout returns its value at once (it
// does not wait for the timer)."
TEST_CASE("with_timeout returns a fast operation's value without waiting for the limit") {
    auto got = run_for(with_timeout(answer_now(42), 60s));
    if (!got) FAIL("with_timeout(an operation that finished at once, 60 s) had not returned after 10 s: "
                   "does it wait for its timer after the operation has finished?");
    CHECK(*got == std::optional<int>(42));

    course::LocalServer server;
    auto answer = run_for(with_timeout(course::coro::http_get(server.url() + "/delay/1"), 60s));
    if (!answer) FAIL("with_timeout(http_get(/delay/1), 60 s) had not returned after 10 s");
    REQUIRE(answer->has_value());
    CHECK((*answer)->status == 200);
}

// Rule: "Once `limit` has passed, with_timeout cancels `op` and returns empty only after
// `op` has ended: its frame is destroyed by the time with_timeout returns."
TEST_CASE("with_timeout cancels a slow operation: it returns empty after the operation's frame is destroyed") {
    int destroyed = 0;
    auto outcome = run_for(time_out_guarded_wait(&destroyed));
    if (!outcome) FAIL("with_timeout(a 60 s wait, 100 ms) had not returned after 10 s: is the timer running?");
    CHECK_FALSE(outcome->got_value);
    INFO("times the operation's Guard was destroyed when with_timeout returned (0: the operation was "
         "left running, not cancelled)");
    CHECK(outcome->destroyed_when_returned == 1);
}

// Rule: "Once `limit` has passed, with_timeout cancels `op`" (a request's socket is closed,
// its connection not leaked).
TEST_CASE("with_timeout closes the connection of a request it cancels") {
    PeerLog log;
    auto outcome = run_for(time_out_request_to_silent_peer(&log), 15s);
    if (!outcome) FAIL("with_timeout(http_get(a server that never answers), 300 ms) had not returned after 15 s");
    CHECK(outcome->timed_out);
    CHECK(outcome->peer_accepted);
    INFO("did the server see the client close the connection within 5 s of with_timeout returning? (no: the "
         "request was left running, its socket open)");
    CHECK(outcome->peer_saw_close);
}

// Rule: "If `op` throws before `limit`, the exception reaches the caller at once (it is
// not turned into a timeout)."
TEST_CASE("with_timeout passes on the exception of an operation that fails before the limit") {
    bool returned = false;
    try {
        auto got = run_for(with_timeout(fail_now(), 60s));
        returned = got.has_value();
        if (!got) FAIL("with_timeout(an operation that failed at once, 60 s) had not returned after 10 s: "
                       "a failure must end it at once, not wait out the limit");
        FAIL("with_timeout returned " << (got->has_value() ? "a value" : "empty (a timeout)")
                                      << " for an operation that threw");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(std::string(e.what()), ContainsSubstring("failed at once"));
    }
    CHECK_FALSE(returned);
}
