// Topic 04: a bounded channel, the meeting point of producers and consumers.
//
// YOUR TASK: replace every `throw course::not_implemented(...)` with a real body and
// add the private members you need. Read README.md in this folder first;
// `./course check 04` tests your work and `./course hint 04` gives one hint at a time.
//
//   producer 1 --push--\                         /--pop--> consumer 1
//   producer 2 --push----> [ buffer: capacity ] ----pop--> consumer 2
//   producer 3 --push--/   full: push waits       \--pop--> consumer 3
//                          closed: push throws    empty: pop waits
//                                                 closed and drained: pop says "end"
//
// Any number of threads may push and pop at the same time: several producers and
// several consumers (the tests use both). Each item reaches exactly one consumer, and a
// thread woken inside push or pop must check again before it moves on: another thread
// may have taken the slot or the item it was woken for.
//
// Channel is a template, so everything lives in this header.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "common/not_implemented.hpp"

namespace course::channels {

// Thrown by push/try_push on a closed channel, also when the channel closes while a
// push waits. For a producer it means "the consumer is gone: stop". (Given: no task.)
class channel_closed : public std::runtime_error {
public:
    channel_closed() : std::runtime_error("push on a closed channel") {}
};

template <class T>
class Channel {
public:
    // capacity > 0: up to `capacity` items wait in the buffer; push blocks when it is full.
    // capacity == 0: rendezvous; push returns only once a consumer has taken its item.
    explicit Channel(std::size_t capacity) { throw course::not_implemented("Channel(capacity)"); }

    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Waits for room, then enqueues. Throws channel_closed if the channel is closed, or
    // closes before the item is accepted (for capacity 0: before a consumer took it;
    // the item is then withdrawn, never delivered).
    void push(T value) { throw course::not_implemented("Channel::push"); }

    // Enqueues only if that needs no waiting: a free slot, or (capacity 0) a consumer
    // already waiting in pop. False if not. Throws channel_closed on a closed channel.
    bool try_push(T value) { throw course::not_implemented("Channel::try_push"); }

    // The next item, waiting for one. Empty once the channel is closed and drained; if
    // it was closed with an error (see close(error)), rethrows that error instead.
    std::optional<T> pop() { throw course::not_implemented("Channel::pop"); }

    // The next item if one is there right now; empty otherwise (check closed() to tell
    // "nothing yet" from "finished"). Rethrows the close error once closed and drained.
    std::optional<T> try_pop() { throw course::not_implemented("Channel::try_pop"); }

    // Like pop, but gives up after `timeout` and returns empty.
    template <class Rep, class Period>
    std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
        throw course::not_implemented("Channel::pop_for");
    }

    // Closes the channel: no more pushes; buffered items are still delivered. Wakes
    // every waiting producer (they throw channel_closed) and consumer. Idempotent.
    void close() { throw course::not_implemented("Channel::close"); }

    // Closes and records `error` (the first error recorded wins): consumers receive the
    // buffered items, then pop/try_pop/pop_for rethrow it instead of returning empty.
    void close(std::exception_ptr error) { throw course::not_implemented("Channel::close(error)"); }

    bool closed() const { throw course::not_implemented("Channel::closed"); }

    // The error the channel was closed with, or nullptr.
    std::exception_ptr error() const { throw course::not_implemented("Channel::error"); }

    std::size_t capacity() const { throw course::not_implemented("Channel::capacity"); }

    // Range-for: `for (T& item : channel)` pops until the channel is closed and drained
    // (and rethrows the close error there, if any). An input iterator: single pass.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = T*;
        using reference = T&;

        iterator() = default;
        explicit iterator(Channel* ch) { throw course::not_implemented("Channel::iterator"); }
        T& operator*() { throw course::not_implemented("Channel::iterator::operator*"); }
        T* operator->() { throw course::not_implemented("Channel::iterator::operator->"); }
        iterator& operator++() { throw course::not_implemented("Channel::iterator::operator++"); }
        void operator++(int) { throw course::not_implemented("Channel::iterator::operator++"); }
        friend bool operator==(const iterator& a, const iterator& b) {
            throw course::not_implemented("Channel::iterator::operator==");
        }

    private:
        // Your members: which channel, and the item popped last (if any).
    };
    iterator begin() { throw course::not_implemented("Channel::begin"); }
    iterator end() { throw course::not_implemented("Channel::end"); }

private:
    // Your members: a mutex, a buffer, condition variables, the closed flag, the error...
};

// Runs each producer on its own thread, all pushing into one channel of `capacity`,
// and closes the channel once every producer has returned. A producer that throws
// counts as finished; the first such error is delivered to the consumer after the last
// item: pop() (and range-for) rethrows it where it would have returned "end", and
// channel.error() holds it. A producer ended by channel_closed (the consumer closed
// early, e.g. take) is not an error. Dropping the last handle closes the channel and
// joins every producer thread: no thread outlives the handle.
template <class T>
std::shared_ptr<Channel<T>> merge(std::vector<std::function<void(Channel<T>&)>> producers,
                                  std::size_t capacity) {
    throw course::not_implemented("course::channels::merge");
}

// Pops up to n items (fewer if the channel ends first), then closes the channel so
// every producer still pushing is released with channel_closed. Closes also when a
// pop rethrows a producer's error, then lets that error through.
template <class T>
std::vector<T> take(Channel<T>& channel, std::size_t n) {
    throw course::not_implemented("course::channels::take");
}

}  // namespace course::channels
