// Tests of course::channels. They compile against the solution and against the
// exercise; every test case must fail on the stub and pass on a correct channel.
//
// No sleeps: "the producer is blocked" is witnessed by the channel's own state (a
// full buffer refuses try_push, so the pending push cannot have completed) or by the
// thread's state in /proc (asleep inside push or pop, see bounded.hpp), by counters;
// "nothing lost, nothing duplicated" by multisets; "no thread left behind" by counting
// /proc/self/task. Every call that may block is bounded (bounded.hpp): a broken channel
// fails a case in seconds with a sentence saying what did not happen.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bounded.hpp"
#include "channel.hpp"
#include "common/process_stats.hpp"
#include "course_catch.hpp"

namespace ch = course::channels;
using namespace std::chrono_literals;
using channel_test::Counter;
using channel_test::drain;
using channel_test::Dropper;
using channel_test::soon;
using channel_test::wake_limit;
using channel_test::within;
using channel_test::work_limit;
using channel_test::Worker;

namespace {

const std::string stream_did_not_end =
    "the stream did not end: are consumers woken by push and by close, and producers by pop?";
const std::string merged_did_not_end =
    "the merged stream did not end: is a producer stuck in push (woken when its slot frees, or for "
    "capacity 0 when its own item is taken?), or does merge never close the channel after the last "
    "producer returns?";

}  // namespace

// Rule: "A channel is a queue" (first in, first out).
TEST_CASE("one producer's items arrive in the order they were pushed") {
    ch::Channel<int> channel(4);
    Worker producer([&] {
        for (int i = 0; i < 2000; ++i) channel.push(i);
        channel.close();
    }, [&] { channel.close(); });
    auto got = drain(channel, stream_did_not_end);
    producer.finish(wake_limit, "the producer did not return after its last push and close");
    REQUIRE(got.size() == 2000);
    for (int i = 0; i < 2000; ++i) CHECK(got[std::size_t(i)] == i);
}

// Rule: "A channel is a queue"; merge "runs each `std::function<void(Channel<T>&)>` on
// its own thread, all pushing into one new channel"; "`begin()` / `end()`: `for (T& item
// : channel)` pops until the channel ends".
TEST_CASE("with several producers each producer's items keep their order") {
    // Items are producer * 100000 + sequence number.
    constexpr int producers = 4, per_producer = 5000;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < producers; ++p)
        jobs.push_back([p](ch::Channel<int>& out) {
            for (int i = 0; i < per_producer; ++i) out.push(p * 100000 + i);
        });
    auto channel = ch::merge(std::move(jobs), 3);
    Dropper dropper(channel);
    auto items = within(work_limit, merged_did_not_end, [&] { channel->close(); }, [&] {
        std::vector<int> seen;
        for (int item : *channel) seen.push_back(item);   // range-for pops until the end
        return seen;
    });
    std::vector<int> next(producers, 0);
    for (int item : items) {
        int p = item / 100000, seq = item % 100000;
        REQUIRE(p < producers);
        CHECK(seq == next[std::size_t(p)]);
        next[std::size_t(p)] = seq + 1;
    }
    CHECK(items.size() == std::size_t(producers * per_producer));
}

// Rule: "8 producers x 10,000 items arrive exactly once at capacities 0, 1, 7 and 1024".
TEST_CASE("8 producers of 10000 items deliver exactly the items sent at capacities 0 1 7 and 1024") {
    const std::size_t capacity = GENERATE(0, 1, 7, 1024);
    CAPTURE(capacity);
    constexpr int producers = 8, per_producer = 10000;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    std::vector<int> sent;
    for (int p = 0; p < producers; ++p) {
        for (int i = 0; i < per_producer; ++i) sent.push_back(p * 1'000'000 + i);
        jobs.push_back([p](ch::Channel<int>& out) {
            for (int i = 0; i < per_producer; ++i) out.push(p * 1'000'000 + i);
        });
    }
    auto channel = ch::merge(std::move(jobs), capacity);
    Dropper dropper(channel);
    auto received = drain(*channel, merged_did_not_end);
    std::sort(received.begin(), received.end());
    std::sort(sent.begin(), sent.end());
    CHECK(received.size() == sent.size());
    CHECK(received == sent);   // the same multiset: nothing lost, nothing duplicated
    CHECK(channel->closed());
}

// Rule: "`pop()` ... Returns an empty optional once the channel is closed **and**
// drained: items buffered before `close()` are still delivered" (also try_pop and
// pop_for).
TEST_CASE("items buffered when the channel closes are still delivered") {
    ch::Channel<std::string> channel(8);
    soon(channel, "push into a channel with free slots did not return", [&] {
        channel.push("a");
        channel.push("b");
        channel.push("c");
    });
    channel.close();
    CHECK(channel.closed());
    const std::string waited = "pop on a closed channel holding items did not return";
    CHECK(soon(channel, waited, [&] { return channel.pop(); }) == std::optional<std::string>("a"));
    CHECK(channel.try_pop() == std::optional<std::string>("b"));
    CHECK(soon(channel, waited, [&] { return channel.pop_for(1s); }) == std::optional<std::string>("c"));
    // Closed and drained: every pop says "end", at once.
    const std::string hung = "pop on a closed, drained channel waited instead of saying \"end\"";
    CHECK_FALSE(soon(channel, hung, [&] { return channel.pop(); }).has_value());
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK_FALSE(soon(channel, hung, [&] { return channel.pop_for(1h); }).has_value());
}

// Rule: "`void close()`: ... wakes every waiting producer and consumer" (the consumer
// side).
TEST_CASE("close wakes a consumer waiting in pop") {
    ch::Channel<int> channel(4);
    std::atomic<bool> got_end{false};
    Worker consumer([&] { got_end = !channel.pop().has_value(); }, [&] { channel.close(); });
    consumer.require_blocked("pop on an empty open channel did not wait");
    channel.close();   // the consumer is asleep inside pop: close must wake it
    consumer.finish(wake_limit, "pop did not return after close: does close wake waiting consumers?");
    CHECK(got_end);
}

// Rule: "`push` ... Throws `channel_closed` if the channel is closed, also when it
// closes *while* push waits".
TEST_CASE("close wakes a producer waiting on a full buffer and its push throws channel_closed") {
    ch::Channel<int> channel(1);
    soon(channel, "push into an empty channel of capacity 1 did not return", [&] { channel.push(1); });
    std::atomic<bool> saw_closed{false};
    Worker producer([&] {
        try {
            channel.push(2);   // waits for room that never comes
        } catch (const ch::channel_closed&) {
            saw_closed = true;
        }
    }, [&] { channel.close(); });
    producer.require_blocked("push on a full channel did not wait for room");
    channel.close();   // the producer is asleep inside push: close must wake it
    producer.finish(wake_limit, "push did not return after close: does close wake producers waiting for room?");
    CHECK(saw_closed);
    // The item buffered before close survives it; the refused one never appears.
    const std::string hung = "pop on a closed channel did not return";
    CHECK(soon(channel, hung, [&] { return channel.pop(); }) == std::optional<int>(1));
    CHECK_FALSE(soon(channel, hung, [&] { return channel.pop(); }).has_value());
}

// Rule: "`push` ... Throws `channel_closed` if the channel is closed"; "`try_push` ...
// `channel_closed` if closed".
TEST_CASE("push and try_push on a closed channel throw channel_closed") {
    ch::Channel<int> channel(4);
    channel.close();
    const std::string hung = "push on a closed channel waited instead of throwing";
    CHECK_THROWS_AS(soon(channel, hung, [&] { channel.push(1); }), ch::channel_closed);
    CHECK_THROWS_AS(channel.try_push(1), ch::channel_closed);
    ch::Channel<int> rendezvous(0);
    rendezvous.close();
    CHECK_THROWS_AS(soon(rendezvous, hung, [&] { rendezvous.push(1); }), ch::channel_closed);
}

// Rule: "`close()` ... calling it twice is harmless. `bool closed() const` tells."
TEST_CASE("close is idempotent and closed reports it") {
    ch::Channel<int> channel(2);
    CHECK_FALSE(channel.closed());
    soon(channel, "push into an empty channel did not return", [&] { channel.push(5); });
    channel.close();
    channel.close();
    CHECK(channel.closed());
    const std::string hung = "pop on a closed channel did not return";
    CHECK(soon(channel, hung, [&] { return channel.pop(); }) == std::optional<int>(5));
    CHECK_FALSE(soon(channel, hung, [&] { return channel.pop(); }).has_value());
}

// Rule: "`bool try_push(T)`: enqueues only if that needs no waiting ...; `false`
// otherwise"; "`try_pop()`: an item if one is there now, else empty".
TEST_CASE("try_push refuses when the buffer is full and try_pop when it is empty") {
    ch::Channel<int> channel(2);
    // Each try_ call is bounded: one that waits for room is a bug, and must fail, not hang.
    const std::string waited = "try_push on a full channel waited for room instead of returning false";
    auto try_push = [&](int item) { return soon(channel, waited, [&] { return channel.try_push(item); }); };
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK(try_push(1));
    CHECK(try_push(2));
    CHECK_FALSE(try_push(3));
    CHECK(channel.try_pop() == std::optional<int>(1));
    CHECK(try_push(3));
    const std::string hung = "pop on a channel holding items did not return";
    CHECK(soon(channel, hung, [&] { return channel.pop(); }) == std::optional<int>(2));
    CHECK(soon(channel, hung, [&] { return channel.pop(); }) == std::optional<int>(3));
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK_FALSE(channel.closed());
}

// Rule: "`pop_for(duration)`: like `pop`, giving up (empty) after the timeout".
TEST_CASE("pop_for returns an item that is there and gives up on an empty open channel") {
    ch::Channel<int> channel(2);
    // Nobody pushes: the timeout ends it.
    CHECK_FALSE(soon(channel, "pop_for(20ms) on an empty channel did not give up",
                     [&] { return channel.pop_for(20ms); }).has_value());
    CHECK_FALSE(channel.closed());
    soon(channel, "push into an empty channel did not return", [&] { channel.push(9); });
    // There already: no waiting.
    CHECK(soon(channel, "pop_for(1h) waited although an item was there",
               [&] { return channel.pop_for(1h); }) == std::optional<int>(9));
}

// Rule: "`Channel(std::size_t capacity)`: up to `capacity` items wait in the buffer";
// "`push` waits while the buffer is full".
TEST_CASE("capacity bounds the buffer: a producer of capacity plus one items blocks until one pop") {
    const int capacity = GENERATE(1, 4, 16);
    CAPTURE(capacity);
    ch::Channel<int> channel{std::size_t(capacity)};
    Counter pushed;
    Worker producer([&] {
        for (int i = 0; i <= capacity; ++i) {   // capacity + 1 items
            channel.push(i);
            pushed.add();
        }
    }, [&] { channel.close(); });
    if (!pushed.reaches(capacity, wake_limit)) {
        producer.finish(wake_limit, "the first capacity pushes into an empty channel did not all return");
        FAIL("the first capacity pushes into an empty channel did not all return");
    }
    // The buffer is full: a try_push is refused, so the producer's last push cannot
    // have completed (only this thread pops).
    CHECK_FALSE(soon(channel, "try_push on a full channel waited", [&] { return channel.try_push(-1); }));
    CHECK(pushed.value() == capacity);
    // One pop makes one slot: the blocked push completes.
    CHECK(soon(channel, "pop on a full channel did not return", [&] { return channel.pop(); }) ==
          std::optional<int>(0));
    producer.finish(wake_limit, "push did not return after pop: is a producer waiting for room woken?");
    CHECK(pushed.value() == capacity + 1);
    channel.close();
    auto rest = drain(channel, "pop on a closed channel did not return");
    REQUIRE(rest.size() == std::size_t(capacity));
    for (int i = 0; i < capacity; ++i) CHECK(rest[std::size_t(i)] == i + 1);
}

// Rule: "Capacity 0 is a *rendezvous*: `push` returns only once a consumer has taken its
// item"; try_push with capacity 0 and no consumer waiting refuses.
TEST_CASE("a rendezvous push returns only once a consumer has taken the item") {
    ch::Channel<int> channel(0);
    // No consumer waiting: nowhere to hand it, and try_push must not wait for one.
    CHECK_FALSE(soon(channel, "try_push on a rendezvous channel with no consumer waited",
                     [&] { return channel.try_push(1); }));
    std::atomic<bool> push_returned{false};
    Worker producer([&] {
        channel.push(7);
        push_returned = true;
    }, [&] { channel.close(); });
    // Asleep inside push, with no consumer: the push has not returned.
    producer.require_blocked("push on a rendezvous channel returned (or never waited) with no consumer");
    CHECK_FALSE(push_returned.load());
    CHECK(soon(channel, "pop did not take the item a rendezvous push offers", [&] { return channel.pop(); }) ==
          std::optional<int>(7));
    producer.finish(wake_limit,
                    "push did not return after pop took its item: is a waiting producer woken?");
    CHECK(push_returned.load());
}

// Rule: "With capacity 0, a push interrupted by close withdraws its item: nobody
// receives it."
TEST_CASE("a rendezvous push waiting for a consumer throws channel_closed on close and delivers nothing") {
    ch::Channel<int> channel(0);
    std::atomic<bool> saw_closed{false};
    Worker producer([&] {
        try {
            channel.push(7);
        } catch (const ch::channel_closed&) {
            saw_closed = true;
        }
    }, [&] { channel.close(); });
    producer.require_blocked("push on a rendezvous channel returned (or never waited) with no consumer");
    channel.close();   // the producer is asleep inside push: close must wake it
    producer.finish(wake_limit,
                    "push did not return after close: does close wake a producer waiting for a consumer?");
    CHECK(saw_closed);
    CHECK_FALSE(soon(channel, "pop on a closed rendezvous channel did not return",
                     [&] { return channel.pop(); }).has_value());
}

// Rule: "`begin()` / `end()`: `for (T& item : channel)` pops until the channel ends".
TEST_CASE("range-for reads every item until the channel is closed") {
    ch::Channel<int> channel(3);
    Worker producer([&] {
        for (int i = 1; i <= 100; ++i) channel.push(i);
        channel.close();
    }, [&] { channel.close(); });
    auto items = within(work_limit, stream_did_not_end, [&] { channel.close(); }, [&] {
        std::vector<int> seen;
        for (int item : channel) seen.push_back(item);
        return seen;
    });
    producer.finish(wake_limit, "the producer did not return after its last push and close");
    int sum = 0;
    for (int item : items) sum += item;
    CHECK(items.size() == 100);
    CHECK(sum == 5050);
}

// Rule: merge "closes the channel **once, after the last producer has returned**".
TEST_CASE("merge closes the channel only after every producer has finished") {
    Counter release_slow;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    jobs.push_back([](ch::Channel<int>& out) {   // fast: done after 3 items
        for (int i = 0; i < 3; ++i) out.push(i);
    });
    jobs.push_back([&](ch::Channel<int>& out) {   // slow: held until the test lets go
        release_slow.reaches(1, work_limit);
        out.push(100);
    });
    auto channel = ch::merge(std::move(jobs), 8);
    Dropper dropper(channel);
    struct LetGo {   // on every way out of the case: the slow producer must not stay held
        Counter& gate;
        ~LetGo() { gate.add(); }
    } let_go{release_slow};
    auto got = within(wake_limit, "pop did not return the fast producer's 3 items", [&] { channel->close(); }, [&] {
        std::vector<int> first;
        for (int i = 0; i < 3; ++i) first.push_back(channel->pop().value());
        return first;
    });
    // The fast producer is done, the slow one is held: the channel must still be open.
    CHECK_FALSE(channel->closed());
    CHECK_FALSE(channel->try_pop().has_value());
    release_slow.add();
    auto rest = drain(*channel, merged_did_not_end);
    CHECK(rest == std::vector<int>{100});
    CHECK(channel->closed());
    CHECK(got == std::vector<int>{0, 1, 2});
}

// Rule: merge: "A producer that throws still counts as finished; the first such error
// reaches the consumer after the last item (`close(error)`)".
TEST_CASE("a producer that throws counts as finished and its error reaches the consumer after the last item") {
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    jobs.push_back([](ch::Channel<int>& out) {
        for (int i = 0; i < 3; ++i) out.push(i);
        throw std::runtime_error("corrupt input in file 7");
    });
    jobs.push_back([](ch::Channel<int>& out) {
        for (int i = 10; i < 15; ++i) out.push(i);
    });
    auto channel = ch::merge(std::move(jobs), 2);
    Dropper dropper(channel);
    std::vector<int> got;
    std::string error;
    try {
        within(work_limit, merged_did_not_end, [&] { channel->close(); }, [&] {
            for (int item : *channel) got.push_back(item);   // `got` is read only after the join
        });
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 10, 11, 12, 13, 14});   // every item first
    CHECK(error == "corrupt input in file 7");                     // then the error
    CHECK(channel->closed());
    CHECK(channel->error() != nullptr);
}

// Rule: merge closes the channel "after the last producer has returned" (with none, at
// once).
TEST_CASE("merge with no producers gives a channel that is already closed") {
    auto channel = ch::merge<int>({}, 4);
    Dropper dropper(channel);
    CHECK(channel->closed());
    CHECK_FALSE(soon(*channel, "pop on the channel of merge with no producers did not return",
                     [&] { return channel->pop(); }).has_value());
}

// Rule: take "pops up to `n` items ..., then closes the channel, so producers blocked in
// `push` are released with `channel_closed`"; merge: "A producer that ends because its
// push threw `channel_closed` is not an error".
TEST_CASE("take returns the first n items then closes and releases blocked producers") {
    const std::size_t before = course::live_threads_baseline();
    constexpr int producers = 3;
    std::atomic<int> saw_closed{0};
    Counter started;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < producers; ++p)
        jobs.push_back([&, p](ch::Channel<int>& out) {
            started.add();
            try {
                for (int i = 0;; ++i) out.push(p * 1'000'000 + i);   // an endless stream
            } catch (const ch::channel_closed&) {
                saw_closed.fetch_add(1);
                throw;   // merge treats channel_closed as a normal end
            }
        });
    auto channel = ch::merge(std::move(jobs), 4);
    Dropper dropper(channel);
    REQUIRE(started.reaches(producers, wake_limit));
    CHECK(course::live_threads_at_most(before + producers) == before + producers);
    auto first = within(wake_limit, "take(100) did not return", [&] { channel->close(); },
                        [&] { return ch::take(*channel, 100); });
    CHECK(first.size() == 100);
    CHECK(channel->closed());
    CHECK_THROWS_AS(soon(*channel, "push on a closed channel waited instead of throwing", [&] { channel->push(-1); }),
                    ch::channel_closed);
    // Every producer has seen channel_closed and ended: their threads are gone from
    // /proc/self/task (ended, not yet joined), so merge has recorded how each ended.
    // Stopping producers early is not an error: the channel still has none.
    CHECK(course::live_threads_at_most(before) == before);
    CHECK(saw_closed.load() == producers);
    CHECK(channel->error() == nullptr);
    // What was buffered at the close is still there; then the end, with no error to rethrow.
    CHECK(drain(*channel, "pop on a closed channel did not return").size() <= 4);
    dropper.drop();   // the last handle: joins every producer thread
    CHECK(course::live_threads_at_most(before) == before);
}

// Rule: take "pops up to `n` items (fewer if the channel ends)".
TEST_CASE("take of more items than the stream holds returns them all") {
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    jobs.push_back([](ch::Channel<int>& out) {
        for (int i = 0; i < 5; ++i) out.push(i);
    });
    auto channel = ch::merge(std::move(jobs), 2);
    Dropper dropper(channel);
    CHECK(within(wake_limit, "take(1000) of a 5-item stream did not return: does merge close the channel?",
                 [&] { channel->close(); }, [&] { return ch::take(*channel, 1000); }) ==
          std::vector<int>{0, 1, 2, 3, 4});
    CHECK(channel->closed());
}

// Rule: merge: "No thread may outlive the returned handle: when the last `shared_ptr`
// goes away, the channel is closed and every producer thread is joined".
TEST_CASE("dropping a merged channel nobody reads joins its blocked producers") {
    const std::size_t before = course::live_threads_baseline();
    std::atomic<int> saw_closed{0};
    Counter pushed;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < 4; ++p)
        jobs.push_back([&](ch::Channel<int>& out) {
            try {
                for (int i = 0;; ++i) {
                    out.push(i);
                    pushed.add();
                }
            } catch (const ch::channel_closed&) {
                saw_closed.fetch_add(1);
                throw;
            }
        });
    auto channel = ch::merge(std::move(jobs), 2);
    Dropper dropper(channel);
    // The buffer is full: from here on producers block in push.
    REQUIRE(pushed.reaches(2, wake_limit));
    dropper.drop();
    CHECK(saw_closed.load() == 4);
    CHECK(course::live_threads_at_most(before) == before);
}

// Rule: "`void close(std::exception_ptr error)`: closes and records an error (the first
// one wins). Once closed and drained, `pop`, `try_pop` and `pop_for` rethrow it instead
// of returning empty; `error()` returns it (or `nullptr`)."
TEST_CASE("close with an error delivers the buffered items then every pop rethrows the first error") {
    ch::Channel<int> channel(4);
    CHECK(channel.error() == nullptr);
    soon(channel, "push into a channel with free slots did not return", [&] {
        channel.push(1);
        channel.push(2);
        channel.push(3);
    });
    channel.close(std::make_exception_ptr(std::runtime_error("first error")));
    channel.close(std::make_exception_ptr(std::runtime_error("second error")));   // too late: the first wins
    channel.close();                                                              // and a plain close keeps it
    CHECK(channel.closed());
    const std::string waited = "pop on a closed channel holding items did not return";
    CHECK(soon(channel, waited, [&] { return channel.pop(); }) == std::optional<int>(1));
    CHECK(channel.try_pop() == std::optional<int>(2));
    CHECK(soon(channel, waited, [&] { return channel.pop_for(1h); }) == std::optional<int>(3));
    // Drained: each way of popping rethrows the first error, every time it is asked.
    const std::string hung = "pop on a closed, drained channel waited instead of rethrowing";
    for (int again = 0; again < 2; ++again) {
        CHECK_THROWS_WITH(soon(channel, hung, [&] { return channel.pop(); }), "first error");
        CHECK_THROWS_WITH(channel.try_pop(), "first error");
        CHECK_THROWS_WITH(soon(channel, hung, [&] { return channel.pop_for(1h); }), "first error");
    }
    REQUIRE(channel.error() != nullptr);
    CHECK_THROWS_WITH(std::rethrow_exception(channel.error()), "first error");
}

// Rule: merge: "the first such error reaches the consumer after the last item".
TEST_CASE("when two merged producers throw one after the other the consumer gets the first error") {
    const std::size_t before = course::live_threads_baseline();
    Counter second_may_throw;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    jobs.push_back([](ch::Channel<int>& out) {
        out.push(1);
        throw std::runtime_error("first producer failed");
    });
    jobs.push_back([&](ch::Channel<int>& out) {
        out.push(2);
        second_may_throw.reaches(1, work_limit);
        throw std::runtime_error("second producer failed");
    });
    auto channel = ch::merge(std::move(jobs), 4);
    Dropper dropper(channel);
    struct LetGo {   // on every way out of the case: the second producer must not stay held
        Counter& gate;
        ~LetGo() { gate.add(); }
    } let_go{second_may_throw};
    // The first producer's thread has ended (gone from /proc/self/task): merge has
    // recorded its error. Only then may the second one throw.
    CHECK(course::live_threads_at_most(before + 1) == before + 1);
    CHECK_FALSE(channel->closed());   // one producer is still running
    second_may_throw.add();
    std::vector<int> got;
    std::string error = "(no error)";
    try {
        within(work_limit, merged_did_not_end, [&] { channel->close(); }, [&] {
            for (int item : *channel) got.push_back(item);
        });
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{1, 2});
    CHECK(error == "first producer failed");
}

// Rule: merge: "No thread may outlive the returned handle: when the last `shared_ptr`
// goes away, the channel is closed and every producer thread is joined" -- joined before
// the drop returns, not merely told to stop.
TEST_CASE("dropping the last handle to a merged channel returns only after its producers have ended") {
    constexpr int producers = 3;
    Counter saw_closed, may_end;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < producers; ++p)
        jobs.push_back([&](ch::Channel<int>& out) {
            try {
                for (int i = 0;; ++i) out.push(i);
            } catch (const ch::channel_closed&) {
                saw_closed.add();
                may_end.reaches(1, work_limit);   // held here until the test lets go
                throw;
            }
        });
    auto channel = ch::merge(std::move(jobs), 1);
    Dropper dropper(channel);
    struct LetGo {
        Counter& gate;
        ~LetGo() { gate.add(); }
    } let_go{may_end};
    std::atomic<bool> drop_returned{false};
    Worker dropping([&] {
        channel.reset();   // closes the channel: every producer gets channel_closed
        drop_returned = true;
    }, [&] { may_end.add(); });
    if (!saw_closed.reaches(producers, wake_limit))
        FAIL("dropping the last handle did not release every producer blocked in push with channel_closed");
    // The producers are held: the drop must be waiting for them (joining), not done.
    if (!dropping.blocked_within(wake_limit)) {
        dropping.finish(wake_limit, "dropping the handle did not return");
        FAIL("dropping the last handle returned while its producer threads were still running: join them "
             "(never detach), so no thread outlives the handle");
    }
    CHECK_FALSE(drop_returned.load());
    may_end.add();
    dropping.finish(wake_limit, "dropping the last handle did not return after its producers ended: "
                                "does it join every producer thread?");
    CHECK(drop_returned.load());
}
