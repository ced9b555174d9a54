// Tests of course::channels with several producers and several consumers at once: who
// is woken, and what a woken thread must do before it moves on.
//
// The classic mistake is `if (full) cv.wait(lock);` instead of a predicate loop. A thread
// woken by notify does not get the lock at once: another thread may take the slot or the
// item first (a "stolen" wake-up), and close and the rendezvous wake every waiter with
// notify_all. A waiter that does not check again pushes past the capacity, or pops
// "end" from an open channel. These cases force those interleavings: threads are parked
// inside push or pop (asleep, seen in /proc), then the test frees one slot or hands out
// one item and takes it back at once. A correct channel passes whatever the scheduler
// does; an `if`-wait fails the first time a wake-up is stolen, and these cases steal
// hundreds of times (or, for notify_all, on the first round).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bounded.hpp"
#include "channel.hpp"
#include "course_catch.hpp"

namespace ch = course::channels;
using namespace std::chrono_literals;
using channel_test::Counter;
using channel_test::drain;
using channel_test::soon;
using channel_test::wake_limit;
using channel_test::within;
using channel_test::work_limit;
using channel_test::Worker;

namespace {

// Rounds of "wake one waiter, steal what it was woken for": a stolen wake-up needs the
// test thread to get the lock before the woken thread does, which happens in most rounds
// (the woken thread must first be scheduled), so a few hundred rounds steal many times.
constexpr int steal_rounds = 300;

std::string describe(const std::optional<int>& item) {
    return item ? "item " + std::to_string(*item) : std::string("empty (\"end\")");
}

}  // namespace

// Rule: "`void push(T)`: waits while the buffer is full, then enqueues" -- also when the
// slot it was woken for has been taken by another push in the meantime.
TEST_CASE("a producer woken for a slot that another push took first waits again") {
    ch::Channel<int> channel(1);
    REQUIRE(soon(channel, "try_push into an empty channel did not return", [&] { return channel.try_push(0); }));
    int expected_front = 0;   // what the buffer's one item is at the start of each round
    int steals = 0;
    for (int round = 1; round <= steal_rounds; ++round) {
        CAPTURE(round, steals);
        Worker producer([&] { channel.push(round); }, [&] { channel.close(); });
        producer.require_blocked("push on a full channel of capacity 1 did not wait for room");
        // One pop frees the slot and wakes the producer; the try_push right after it
        // usually gets the lock first and fills the slot again.
        REQUIRE(channel.try_pop() == std::optional<int>(expected_front));
        if (channel.try_push(-round)) {
            ++steals;
            // The buffer is full again, so the woken producer must have gone back to
            // waiting: a push that returns now has put a second item in a buffer of one.
            if (!producer.blocked_within(wake_limit)) {
                producer.finish(wake_limit, "push did not return");
                FAIL("push returned although the buffer of capacity 1 was full again when it woke up: "
                     "a producer woken for a slot must check again that the slot is free (wait with "
                     "a predicate loop, not `if`)");
            }
            REQUIRE(channel.try_pop() == std::optional<int>(-round));   // frees the slot for it
        }
        producer.finish(wake_limit, "push did not return after pop freed a slot: is a producer waiting for room woken?");
        // Exactly the producer's item is buffered now: the bound held.
        CHECK_FALSE(channel.try_push(-1));
        expected_front = round;
    }
    REQUIRE(channel.try_pop() == std::optional<int>(expected_front));
    CHECK_FALSE(channel.try_pop().has_value());
}

// Rule: "`std::optional<T> pop()`: waits for an item. Returns an empty optional once the
// channel is closed **and** drained" -- never on an open channel, also when the item it
// was woken for went to another consumer. The same for pop_for ("like `pop`, giving up
// (empty) after the timeout"): it must not give up early.
TEST_CASE("a consumer woken for an item that another consumer took first waits again instead of saying end") {
    const bool timed = GENERATE(false, true);
    const std::string call = timed ? "pop_for(1h)" : "pop()";
    CAPTURE(call);
    ch::Channel<int> channel(4);
    int steals = 0;
    for (int round = 1; round <= steal_rounds; ++round) {
        CAPTURE(round, steals);
        std::optional<int> got;   // written by the consumer, read after finish() joined it
        Worker consumer([&] { got = timed ? channel.pop_for(1h) : channel.pop(); }, [&] { channel.close(); });
        consumer.require_blocked(call + " on an empty open channel did not wait");
        // The push wakes the consumer; the try_pop right after it usually gets the lock
        // first and takes the item.
        REQUIRE(channel.try_push(round));
        if (auto stolen = channel.try_pop()) {
            ++steals;
            REQUIRE(*stolen == round);
            // The channel is open and empty: the woken consumer must wait again.
            if (!consumer.blocked_within(wake_limit)) {
                consumer.finish(wake_limit, call + " did not return");
                FAIL(call + " returned " + describe(got) + " on an open channel, woken for an item another "
                     "consumer took first: after a wake-up, check again (a predicate loop, not `if`), "
                     "and say \"end\" only once the channel is closed and drained");
            }
            REQUIRE(channel.try_push(-round));
            consumer.finish(wake_limit, call + " did not return after an item arrived: does push wake a waiting consumer?");
            REQUIRE(got == std::optional<int>(-round));
        } else {
            consumer.finish(wake_limit, call + " did not return after an item arrived: does push wake a waiting consumer?");
            REQUIRE(got == std::optional<int>(round));
        }
    }
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK_FALSE(channel.closed());
}

// Rule: "`void push(T)`: waits while the buffer is full" -- with several producers
// waiting: one pop makes room for exactly one of them.
TEST_CASE("with capacity 1 and three producers waiting one pop lets exactly one push through") {
    ch::Channel<int> channel(1);
    REQUIRE(soon(channel, "try_push into an empty channel did not return", [&] { return channel.try_push(0); }));
    Counter pushed;
    std::vector<std::unique_ptr<Worker>> producers;
    for (int p = 1; p <= 3; ++p) {
        producers.push_back(std::make_unique<Worker>([&, p] {
            channel.push(p);
            pushed.add();
        }, [&] { channel.close(); }));
        producers.back()->require_blocked("push on a full channel of capacity 1 did not wait for room");
    }
    std::vector<int> popped;
    for (int round = 1; round <= 3; ++round) {
        CAPTURE(round);
        auto item = soon(channel, "pop on a full channel did not return", [&] { return channel.pop(); });
        REQUIRE(item.has_value());
        popped.push_back(*item);
        if (!pushed.reaches(round, wake_limit))
            FAIL("no waiting push returned after a pop freed the slot: is a producer waiting for room woken?");
        // The slot is taken again: every other producer must still be waiting.
        for (auto& producer : producers)
            if (!producer->blocked_within(wake_limit) && pushed.value() > round) {
                std::ostringstream what;
                what << pushed.value() << " pushes returned after " << round << " pop(s) on a channel of capacity 1 "
                     << "that was full: producers woken together (notify_all) must each check again that "
                        "there is room (a predicate loop, not `if`)";
                FAIL(what.str());
            }
        CHECK(pushed.value() == round);
        CHECK_FALSE(channel.try_push(-1));   // full: exactly one item buffered
    }
    for (auto& producer : producers) producer->finish(wake_limit, "a producer did not return");
    popped.push_back(soon(channel, "pop on a full channel did not return", [&] { return channel.pop(); }).value_or(-1));
    std::sort(popped.begin(), popped.end());
    CHECK(popped == std::vector<int>{0, 1, 2, 3});
    CHECK_FALSE(channel.try_pop().has_value());
}

// Rule: "Capacity 0 is a *rendezvous*: `push` returns only once a consumer has taken its
// item" -- with several pushers waiting, each one for its own item; and "Throws
// `channel_closed` ... also when it closes *while* push waits": not while it is open.
TEST_CASE("a rendezvous pop releases exactly the pusher whose item it took and the others keep waiting") {
    ch::Channel<int> channel(0);
    Counter returned;
    std::atomic<int> refused{0};
    std::vector<std::unique_ptr<Worker>> pushers;
    for (int p = 1; p <= 3; ++p) {
        pushers.push_back(std::make_unique<Worker>([&, p] {
            try {
                channel.push(p);
                returned.add();
            } catch (const ch::channel_closed&) {
                refused.fetch_add(1);
                throw;
            }
        }, [&] { channel.close(); }));
        pushers.back()->require_blocked("push on a rendezvous channel returned (or never waited) with no consumer");
    }
    std::vector<int> popped;
    for (int round = 1; round <= 3; ++round) {
        CAPTURE(round);
        auto item = soon(channel, "pop did not take an item that waiting pushers offer", [&] { return channel.pop(); });
        REQUIRE(item.has_value());
        popped.push_back(*item);
        if (!returned.reaches(round, wake_limit))
            FAIL("no push returned after pop took an item: is the pusher whose item was taken woken?");
        for (auto& pusher : pushers)
            if (!pusher->blocked_within(wake_limit) && returned.value() + refused.load() > round) {
                std::ostringstream what;
                what << "after " << round << " pop(s), " << returned.value() << " pushes returned and " << refused.load()
                     << " threw channel_closed on an open channel: a pusher woken for someone else's item must "
                        "check again whether its own item was taken (a predicate loop, not `if`)";
                FAIL(what.str());
            }
        CHECK(returned.value() == round);
    }
    for (auto& pusher : pushers) pusher->finish(wake_limit, "a pusher did not return");
    std::sort(popped.begin(), popped.end());
    CHECK(popped == std::vector<int>{1, 2, 3});
    CHECK(refused.load() == 0);
    CHECK_FALSE(channel.try_pop().has_value());
}

// Rule: "A channel is a queue with a bound and an end, shared by producer threads and
// consumer threads": with several consumers, every item is delivered exactly once, no
// `pop()` says "end" while the channel is open, and the buffer never holds more than
// `capacity` items.
TEST_CASE("4 producers and 4 consumers: every item exactly once and never an end while open or a buffer over capacity") {
    const std::size_t capacity = GENERATE(0, 1, 7);
    CAPTURE(capacity);
    constexpr int producers = 4, consumers = 4, per_producer = 5000, total = producers * per_producer;
    ch::Channel<int> channel(capacity);
    // The bound, watched from outside: a push counts itself *after* it returns (its item
    // entered the buffer before), a pop *before* it starts (its item leaves after), so
    // pushes_done - pops_started, read in that order, is never above the number of items
    // in the buffer. It must never exceed the capacity.
    std::atomic<long> pushes_done{0}, pops_started{0}, most_seen{-1000};
    std::atomic<bool> test_closed{false};
    std::atomic<int> ends_while_open{0};
    Counter delivered;
    std::vector<std::vector<int>> received(consumers);
    {
        std::vector<std::unique_ptr<Worker>> threads;
        for (int p = 0; p < producers; ++p)
            threads.push_back(std::make_unique<Worker>([&, p] {
                for (int i = 0; i < per_producer; ++i) {
                    channel.push(p * 1'000'000 + i);
                    pushes_done.fetch_add(1);
                }
            }, [&] { channel.close(); }));
        for (int c = 0; c < consumers; ++c)
            threads.push_back(std::make_unique<Worker>([&, c] {
                for (;;) {
                    pops_started.fetch_add(1);
                    auto item = channel.pop();
                    long in_buffer = pushes_done.load();
                    in_buffer -= pops_started.load();
                    long seen = most_seen.load();
                    while (in_buffer > seen && !most_seen.compare_exchange_weak(seen, in_buffer)) {
                    }
                    if (!item) {
                        if (test_closed.load()) return;
                        ends_while_open.fetch_add(1);   // wrong; keep reading to see how often
                        continue;
                    }
                    received[std::size_t(c)].push_back(*item);
                    delivered.add();
                }
            }, [&] { channel.close(); }));
        // Close only once every item has been delivered: until then "end" is wrong.
        const bool all_delivered = delivered.reaches(total, work_limit);
        test_closed = true;
        channel.close();
        if (!all_delivered) {
            for (auto& t : threads) t->finish(wake_limit, "a producer or consumer did not return after close");
            FAIL("the items were not all delivered within the limit: is a producer or consumer stuck in a wait "
                 "nobody ends (woken by pop and push? several consumers waiting at once?)");
        }
        for (auto& t : threads) t->finish(wake_limit, "a producer or consumer did not return after close");
    }
    CHECK(ends_while_open.load() == 0);   // pop said "end" on an open channel this often
    CHECK(most_seen.load() <= long(capacity));
    std::vector<int> all, sent;
    for (auto& r : received) all.insert(all.end(), r.begin(), r.end());
    for (int p = 0; p < producers; ++p)
        for (int i = 0; i < per_producer; ++i) sent.push_back(p * 1'000'000 + i);
    std::sort(all.begin(), all.end());
    CHECK(all.size() == sent.size());
    CHECK(all == sent);   // the same multiset: nothing lost, nothing duplicated
}

// Rule: "`void close()`: no more pushes; wakes every waiting producer and consumer".
TEST_CASE("close wakes all three consumers waiting in pop and all three producers waiting for room") {
    SECTION("three consumers waiting in pop") {
        ch::Channel<int> channel(2);
        std::atomic<int> ends{0};
        std::vector<std::unique_ptr<Worker>> consumers;
        for (int c = 0; c < 3; ++c) {
            consumers.push_back(std::make_unique<Worker>([&] {
                if (!channel.pop().has_value()) ends.fetch_add(1);
            }, [&] { channel.close(); }));
            consumers.back()->require_blocked("pop on an empty open channel did not wait");
        }
        channel.close();
        for (auto& consumer : consumers)
            consumer->finish(wake_limit, "a consumer waiting in pop did not return after close: does close wake "
                                         "every waiting consumer (notify_all), not just one?");
        CHECK(ends.load() == 3);
    }
    SECTION("three producers waiting for room") {
        ch::Channel<int> channel(1);
        REQUIRE(soon(channel, "try_push into an empty channel did not return", [&] { return channel.try_push(0); }));
        std::atomic<int> refused{0};
        std::vector<std::unique_ptr<Worker>> producers;
        for (int p = 1; p <= 3; ++p) {
            producers.push_back(std::make_unique<Worker>([&, p] {
                try {
                    channel.push(p);
                } catch (const ch::channel_closed&) {
                    refused.fetch_add(1);
                }
            }, [&] { channel.close(); }));
            producers.back()->require_blocked("push on a full channel did not wait for room");
        }
        channel.close();
        for (auto& producer : producers)
            producer->finish(wake_limit, "a producer waiting for room did not return after close: does close wake "
                                         "every waiting producer (notify_all), not just one?");
        CHECK(refused.load() == 3);
        CHECK(drain(channel, "pop on a closed channel did not return") == std::vector<int>{0});
    }
}

// Rule: "`bool try_push(T)`: enqueues only if that needs no waiting (... with capacity 0,
// a consumer already waiting in `pop`)".
TEST_CASE("a rendezvous try_push hands its item to a consumer already waiting in pop") {
    ch::Channel<int> channel(0);
    CHECK_FALSE(soon(channel, "try_push on a rendezvous channel with no consumer waited", [&] { return channel.try_push(1); }));
    std::optional<int> got;
    Worker consumer([&] { got = channel.pop(); }, [&] { channel.close(); });
    consumer.require_blocked("pop on an empty open rendezvous channel did not wait");
    CHECK(soon(channel, "try_push with a consumer waiting in pop waited", [&] { return channel.try_push(5); }));
    consumer.finish(wake_limit, "pop did not return the item try_push handed over: does try_push wake it?");
    CHECK(got == std::optional<int>(5));
    CHECK_FALSE(soon(channel, "try_push on a rendezvous channel with no consumer waited", [&] { return channel.try_push(6); }));
}
