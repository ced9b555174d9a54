// Tests of course::channels. They compile against the solution and against the
// exercise; every test case must fail on the stub and pass on a correct channel.
//
// No sleeps: "the producer is blocked" is witnessed by the channel's own state (a
// full buffer refuses try_push, so the pending push cannot have completed), by
// latches and by atomic counters; "nothing lost, nothing duplicated" by multisets;
// "no thread left behind" by counting /proc/self/task.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <latch>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "channel.hpp"
#include "course_catch.hpp"

namespace ch = course::channels;
using namespace std::chrono_literals;

namespace {

// Threads alive in this process right now.
std::size_t live_threads() {
    std::size_t n = 0;
    for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
    return n;
}

// The thread count a test compares against at its end. One thread is started and
// joined first: ThreadSanitizer starts a helper thread of its own at the first
// pthread_create, which must not count as a leaked producer.
std::size_t baseline_threads() {
    std::thread([] {}).join();
    return live_threads();
}

// Pops until the channel ends.
template <class T>
std::vector<T> drain(ch::Channel<T>& channel) {
    std::vector<T> items;
    while (auto item = channel.pop()) items.push_back(*item);
    return items;
}

// Waits (without a sleep) until an atomic counter reaches at least `target`.
void wait_until_at_least(const std::atomic<int>& counter, int target) {
    for (int seen = counter.load(); seen < target; seen = counter.load()) counter.wait(seen);
}

}  // namespace

TEST_CASE("one producer's items arrive in the order they were pushed") {
    ch::Channel<int> channel(4);
    std::thread producer([&] {
        for (int i = 0; i < 2000; ++i) channel.push(i);
        channel.close();
    });
    auto got = drain(channel);
    producer.join();
    REQUIRE(got.size() == 2000);
    for (int i = 0; i < 2000; ++i) CHECK(got[std::size_t(i)] == i);
}

TEST_CASE("with several producers each producer's items keep their order") {
    // Items are producer * 100000 + sequence number.
    constexpr int producers = 4, per_producer = 5000;
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < producers; ++p)
        jobs.push_back([p](ch::Channel<int>& out) {
            for (int i = 0; i < per_producer; ++i) out.push(p * 100000 + i);
        });
    auto channel = ch::merge(std::move(jobs), 3);
    std::vector<int> next(producers, 0);
    std::size_t total = 0;
    for (int item : *channel) {
        int p = item / 100000, seq = item % 100000;
        REQUIRE(p < producers);
        CHECK(seq == next[std::size_t(p)]);
        next[std::size_t(p)] = seq + 1;
        ++total;
    }
    CHECK(total == std::size_t(producers * per_producer));
}

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
    auto received = drain(*channel);
    std::sort(received.begin(), received.end());
    std::sort(sent.begin(), sent.end());
    CHECK(received.size() == sent.size());
    CHECK(received == sent);   // the same multiset: nothing lost, nothing duplicated
    CHECK(channel->closed());
}

TEST_CASE("items buffered when the channel closes are still delivered") {
    ch::Channel<std::string> channel(8);
    channel.push("a");
    channel.push("b");
    channel.push("c");
    channel.close();
    CHECK(channel.closed());
    CHECK(channel.pop() == std::optional<std::string>("a"));
    CHECK(channel.try_pop() == std::optional<std::string>("b"));
    CHECK(channel.pop_for(1s) == std::optional<std::string>("c"));
    // Closed and drained: every pop says "end", at once.
    CHECK_FALSE(channel.pop().has_value());
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK_FALSE(channel.pop_for(1h).has_value());
}

TEST_CASE("close wakes a consumer waiting in pop") {
    ch::Channel<int> channel(4);
    std::latch consumer_started(1);
    std::atomic<bool> got_end{false};
    std::thread consumer([&] {
        consumer_started.count_down();
        got_end = !channel.pop().has_value();   // waits: nothing is ever pushed
    });
    consumer_started.wait();
    channel.close();
    consumer.join();   // would hang if close did not wake the waiting pop
    CHECK(got_end);
}

TEST_CASE("close wakes a producer waiting on a full buffer and its push throws channel_closed") {
    ch::Channel<int> channel(1);
    channel.push(1);   // the buffer is now full
    std::latch producer_started(1);
    std::atomic<bool> saw_closed{false};
    std::thread producer([&] {
        producer_started.count_down();
        try {
            channel.push(2);   // waits for room that never comes
        } catch (const ch::channel_closed&) {
            saw_closed = true;
        }
    });
    producer_started.wait();
    channel.close();
    producer.join();
    CHECK(saw_closed);
    // The item buffered before close survives it; the refused one never appears.
    CHECK(channel.pop() == std::optional<int>(1));
    CHECK_FALSE(channel.pop().has_value());
}

TEST_CASE("push and try_push on a closed channel throw channel_closed") {
    ch::Channel<int> channel(4);
    channel.close();
    CHECK_THROWS_AS(channel.push(1), ch::channel_closed);
    CHECK_THROWS_AS(channel.try_push(1), ch::channel_closed);
    ch::Channel<int> rendezvous(0);
    rendezvous.close();
    CHECK_THROWS_AS(rendezvous.push(1), ch::channel_closed);
}

TEST_CASE("close is idempotent and closed reports it") {
    ch::Channel<int> channel(2);
    CHECK_FALSE(channel.closed());
    channel.push(5);
    channel.close();
    channel.close();
    CHECK(channel.closed());
    CHECK(channel.pop() == std::optional<int>(5));
    CHECK_FALSE(channel.pop().has_value());
}

TEST_CASE("try_push refuses when the buffer is full and try_pop when it is empty") {
    ch::Channel<int> channel(2);
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK(channel.try_push(1));
    CHECK(channel.try_push(2));
    CHECK_FALSE(channel.try_push(3));
    CHECK(channel.try_pop() == std::optional<int>(1));
    CHECK(channel.try_push(3));
    CHECK(channel.pop() == std::optional<int>(2));
    CHECK(channel.pop() == std::optional<int>(3));
    CHECK_FALSE(channel.try_pop().has_value());
    CHECK_FALSE(channel.closed());
}

TEST_CASE("pop_for returns an item that is there and gives up on an empty open channel") {
    ch::Channel<int> channel(2);
    CHECK_FALSE(channel.pop_for(20ms).has_value());   // nobody pushes: the timeout ends it
    CHECK_FALSE(channel.closed());
    channel.push(9);
    CHECK(channel.pop_for(1h) == std::optional<int>(9));   // there already: no waiting
}

TEST_CASE("capacity bounds the buffer: a producer of capacity plus one items blocks until one pop") {
    const int capacity = GENERATE(1, 4, 16);
    CAPTURE(capacity);
    ch::Channel<int> channel{std::size_t(capacity)};
    std::atomic<int> pushed{0};
    std::thread producer([&] {
        for (int i = 0; i <= capacity; ++i) {   // capacity + 1 items
            channel.push(i);
            pushed.fetch_add(1);
            pushed.notify_all();
        }
    });
    wait_until_at_least(pushed, capacity);
    // The buffer is full: a try_push is refused, so the producer's last push cannot
    // have completed (only this thread pops).
    CHECK_FALSE(channel.try_push(-1));
    CHECK(pushed.load() == capacity);
    // One pop makes one slot: the blocked push completes.
    CHECK(channel.pop() == std::optional<int>(0));
    wait_until_at_least(pushed, capacity + 1);
    producer.join();
    CHECK(pushed.load() == capacity + 1);
    channel.close();
    auto rest = drain(channel);
    REQUIRE(rest.size() == std::size_t(capacity));
    for (int i = 0; i < capacity; ++i) CHECK(rest[std::size_t(i)] == i + 1);
}

TEST_CASE("a rendezvous push returns only once a consumer has taken the item") {
    ch::Channel<int> channel(0);
    CHECK_FALSE(channel.try_push(1));   // no consumer waiting: nowhere to hand it
    std::latch producer_started(1);
    std::atomic<bool> push_returned{false};
    std::thread producer([&] {
        producer_started.count_down();
        channel.push(7);
        push_returned = true;
    });
    producer_started.wait();
    CHECK_FALSE(push_returned.load());   // nobody has taken the item yet
    CHECK(channel.pop() == std::optional<int>(7));
    producer.join();
    CHECK(push_returned.load());
}

TEST_CASE("a rendezvous push waiting for a consumer throws channel_closed on close and delivers nothing") {
    ch::Channel<int> channel(0);
    std::latch producer_started(1);
    std::atomic<bool> saw_closed{false};
    std::thread producer([&] {
        producer_started.count_down();
        try {
            channel.push(7);
        } catch (const ch::channel_closed&) {
            saw_closed = true;
        }
    });
    producer_started.wait();
    channel.close();
    producer.join();
    CHECK(saw_closed);
    CHECK_FALSE(channel.pop().has_value());
}

TEST_CASE("range-for reads every item until the channel is closed") {
    ch::Channel<int> channel(3);
    std::thread producer([&] {
        for (int i = 1; i <= 100; ++i) channel.push(i);
        channel.close();
    });
    int sum = 0, count = 0;
    for (int item : channel) {
        sum += item;
        ++count;
    }
    producer.join();
    CHECK(count == 100);
    CHECK(sum == 5050);
}

TEST_CASE("merge closes the channel only after every producer has finished") {
    std::latch release_slow(1);
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    jobs.push_back([](ch::Channel<int>& out) {   // fast: done after 3 items
        for (int i = 0; i < 3; ++i) out.push(i);
    });
    jobs.push_back([&](ch::Channel<int>& out) {   // slow: held until the test lets go
        release_slow.wait();
        out.push(100);
    });
    auto channel = ch::merge(std::move(jobs), 8);
    std::vector<int> got;
    for (int i = 0; i < 3; ++i) got.push_back(channel->pop().value());
    // The fast producer is done, the slow one is held: the channel must still be open.
    CHECK_FALSE(channel->closed());
    CHECK_FALSE(channel->try_pop().has_value());
    release_slow.count_down();
    auto rest = drain(*channel);
    CHECK(rest == std::vector<int>{100});
    CHECK(channel->closed());
    CHECK(got == std::vector<int>{0, 1, 2});
}

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
    std::vector<int> got;
    std::string error;
    try {
        for (int item : *channel) got.push_back(item);
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 10, 11, 12, 13, 14});   // every item first
    CHECK(error == "corrupt input in file 7");                     // then the error
    CHECK(channel->closed());
    CHECK(channel->error() != nullptr);
}

TEST_CASE("merge with no producers gives a channel that is already closed") {
    auto channel = ch::merge<int>({}, 4);
    CHECK(channel->closed());
    CHECK_FALSE(channel->pop().has_value());
}

TEST_CASE("take returns the first n items then closes and releases blocked producers") {
    const std::size_t before = baseline_threads();
    constexpr int producers = 3;
    std::atomic<int> saw_closed{0};
    std::latch all_started(producers);
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < producers; ++p)
        jobs.push_back([&, p](ch::Channel<int>& out) {
            all_started.count_down();
            try {
                for (int i = 0;; ++i) out.push(p * 1'000'000 + i);   // an endless stream
            } catch (const ch::channel_closed&) {
                saw_closed.fetch_add(1);
                throw;   // merge treats channel_closed as a normal end
            }
        });
    auto channel = ch::merge(std::move(jobs), 4);
    all_started.wait();
    CHECK(live_threads() == before + producers);
    auto first = ch::take(*channel, 100);
    CHECK(first.size() == 100);
    CHECK(channel->closed());
    CHECK_THROWS_AS(channel->push(-1), ch::channel_closed);
    CHECK(channel->error() == nullptr);   // stopping producers early is not an error
    channel.reset();                      // the last handle: joins every producer thread
    CHECK(saw_closed.load() == producers);
    CHECK(live_threads() == before);
}

TEST_CASE("take of more items than the stream holds returns them all") {
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    jobs.push_back([](ch::Channel<int>& out) {
        for (int i = 0; i < 5; ++i) out.push(i);
    });
    auto channel = ch::merge(std::move(jobs), 2);
    CHECK(ch::take(*channel, 1000) == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(channel->closed());
}

TEST_CASE("dropping a merged channel nobody reads joins its blocked producers") {
    const std::size_t before = baseline_threads();
    std::atomic<int> saw_closed{0};
    std::atomic<int> pushed{0};
    std::vector<std::function<void(ch::Channel<int>&)>> jobs;
    for (int p = 0; p < 4; ++p)
        jobs.push_back([&](ch::Channel<int>& out) {
            try {
                for (int i = 0;; ++i) {
                    out.push(i);
                    pushed.fetch_add(1);
                    pushed.notify_all();
                }
            } catch (const ch::channel_closed&) {
                saw_closed.fetch_add(1);
                throw;
            }
        });
    auto channel = ch::merge(std::move(jobs), 2);
    wait_until_at_least(pushed, 2);   // the buffer is full: producers block in push
    channel.reset();
    CHECK(saw_closed.load() == 4);
    CHECK(live_threads() == before);
}
