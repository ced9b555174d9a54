// Topic 04: a bounded channel, the meeting point of producers and consumers.
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
// One mutex guards the buffer; two condition variables say who may move on:
// `can_push_` wakes producers (a slot freed, a rendezvous item taken, or close),
// `can_pop_` wakes consumers (an item arrived, or close). Every wait has a predicate.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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

namespace course::channels {

// Thrown by push/try_push on a closed channel, also when the channel closes while a
// push waits. For a producer it means "the consumer is gone: stop".
class channel_closed : public std::runtime_error {
public:
    channel_closed() : std::runtime_error("push on a closed channel") {}
};

template <class T>
class Channel {
public:
    // capacity > 0: up to `capacity` items wait in the buffer; push blocks when it is full.
    // capacity == 0: rendezvous; push returns only once a consumer has taken its item.
    explicit Channel(std::size_t capacity) : capacity_(capacity) {}

    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Waits for room, then enqueues. Throws channel_closed if the channel is closed, or
    // closes before the item is accepted (for capacity 0: before a consumer took it;
    // the item is then withdrawn, never delivered).
    void push(T value) {
        std::unique_lock lock(mutex_);
        if (closed_) throw channel_closed();
        if (capacity_ == 0) {
            // Enqueue at once, then wait until a consumer has taken this very item.
            const std::uint64_t ticket = enqueue(std::move(value));
            ++waiting_pushers_;
            can_push_.wait(lock, [&] { return taken(ticket) || closed_; });
            --waiting_pushers_;
            if (!taken(ticket)) {
                withdraw(ticket);
                throw channel_closed();
            }
            return;
        }
        ++waiting_pushers_;
        can_push_.wait(lock, [&] { return buffer_.size() < capacity_ || closed_; });
        --waiting_pushers_;
        if (closed_) throw channel_closed();
        enqueue(std::move(value));
    }

    // Enqueues only if that needs no waiting: a free slot, or (capacity 0) a consumer
    // already waiting in pop. False if not. Throws channel_closed on a closed channel.
    bool try_push(T value) {
        std::unique_lock lock(mutex_);
        if (closed_) throw channel_closed();
        const std::size_t room = capacity_ > 0 ? capacity_ : waiting_poppers_;
        if (buffer_.size() >= room) return false;
        enqueue(std::move(value));
        return true;
    }

    // The next item, waiting for one. Empty once the channel is closed and drained; if
    // it was closed with an error (see close(error)), rethrows that error instead.
    std::optional<T> pop() {
        std::unique_lock lock(mutex_);
        ++waiting_poppers_;   // lets a rendezvous try_push hand an item to us
        can_pop_.wait(lock, [&] { return !buffer_.empty() || closed_; });
        --waiting_poppers_;
        return dequeue_or_end();
    }

    // The next item if one is there right now; empty otherwise (check closed() to tell
    // "nothing yet" from "finished"). Rethrows the close error once closed and drained.
    std::optional<T> try_pop() {
        std::unique_lock lock(mutex_);
        if (buffer_.empty() && !closed_) return std::nullopt;
        return dequeue_or_end();
    }

    // Like pop, but gives up after `timeout` and returns empty.
    template <class Rep, class Period>
    std::optional<T> pop_for(std::chrono::duration<Rep, Period> timeout) {
        std::unique_lock lock(mutex_);
        ++waiting_poppers_;   // lets a rendezvous try_push hand an item to us
        bool ready = can_pop_.wait_for(lock, timeout, [&] { return !buffer_.empty() || closed_; });
        --waiting_poppers_;
        if (!ready) return std::nullopt;
        return dequeue_or_end();
    }

    // Closes the channel: no more pushes; buffered items are still delivered. Wakes
    // every waiting producer (they throw channel_closed) and consumer. Idempotent.
    void close() { close(nullptr); }

    // Closes and records `error` (the first error recorded wins): consumers receive the
    // buffered items, then pop/try_pop/pop_for rethrow it instead of returning empty.
    void close(std::exception_ptr error) {
        {
            std::lock_guard lock(mutex_);
            if (error && !error_) error_ = error;
            closed_ = true;
        }
        can_push_.notify_all();
        can_pop_.notify_all();
    }

    bool closed() const {
        std::lock_guard lock(mutex_);
        return closed_;
    }

    // The error the channel was closed with, or nullptr.
    std::exception_ptr error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }

    std::size_t capacity() const { return capacity_; }

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
        explicit iterator(Channel* ch) : channel_(ch) { advance(); }
        T& operator*() { return *current_; }
        T* operator->() { return &*current_; }
        iterator& operator++() {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        friend bool operator==(const iterator& a, const iterator& b) {
            return a.current_.has_value() == b.current_.has_value() &&
                   (!a.current_ || a.channel_ == b.channel_);
        }

    private:
        void advance() { current_ = channel_ ? channel_->pop() : std::nullopt; }
        Channel* channel_ = nullptr;
        std::optional<T> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }

private:
    struct Entry {
        T value;
        std::uint64_t ticket;   // 1, 2, 3, ... in push order: the buffer is sorted by it
    };

    // Caller holds mutex_.
    std::uint64_t enqueue(T&& value) {
        const std::uint64_t ticket = ++last_ticket_;
        buffer_.push_back(Entry{std::move(value), ticket});
        if (waiting_poppers_ > 0) can_pop_.notify_one();   // one item: one consumer may move on
        return ticket;
    }

    std::optional<T> dequeue_or_end() {
        if (buffer_.empty()) {   // closed and drained
            if (error_) std::rethrow_exception(error_);
            return std::nullopt;
        }
        std::optional<T> item(std::move(buffer_.front().value));
        buffer_.pop_front();
        if (waiting_pushers_ > 0) {
            // Buffered: one slot freed, one producer may move on. Rendezvous: the pusher
            // whose item this was must wake, and we cannot pick it: wake them all.
            if (capacity_ == 0)
                can_push_.notify_all();
            else
                can_push_.notify_one();
        }
        return item;
    }

    // A rendezvous item is "taken" once it has left the buffer; the buffer is FIFO and
    // sorted by ticket, and only its own pusher ever removes an item from the middle.
    bool taken(std::uint64_t ticket) const { return buffer_.empty() || buffer_.front().ticket > ticket; }

    void withdraw(std::uint64_t ticket) {
        for (auto it = buffer_.begin(); it != buffer_.end(); ++it)
            if (it->ticket == ticket) {
                buffer_.erase(it);
                return;
            }
    }

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable can_push_, can_pop_;
    std::deque<Entry> buffer_;
    std::uint64_t last_ticket_ = 0;
    std::size_t waiting_pushers_ = 0, waiting_poppers_ = 0;
    bool closed_ = false;
    std::exception_ptr error_;
};

namespace detail {

// What merge() hands out: the channel plus the threads feeding it. The shared_ptr the
// consumer holds points at `channel` but owns the whole state (aliasing constructor),
// so when the last consumer handle goes away, the destructor closes the channel
// (every producer still blocked in push gets channel_closed) and joins every thread.
// Producer threads hold a plain reference, never a shared_ptr: the last owner is
// always a consumer, so a thread never has to join itself.
template <class T>
struct MergedChannel {
    explicit MergedChannel(std::size_t capacity) : channel(capacity) {}
    ~MergedChannel() {
        channel.close();
        for (auto& t : threads) t.join();
    }

    // Called by each producer thread as it ends, however it ends. The last one closes
    // the channel, with the first error any producer threw: exactly once, after all.
    void producer_finished(std::exception_ptr error) {
        std::exception_ptr close_error;
        {
            std::lock_guard lock(mutex);
            if (error && !first_error) first_error = error;
            if (--running > 0) return;
            close_error = first_error;
        }
        channel.close(close_error);
    }

    Channel<T> channel;
    std::mutex mutex;
    std::size_t running = 0;
    std::exception_ptr first_error;
    std::vector<std::thread> threads;   // joined in ~MergedChannel, before any member dies
};

}  // namespace detail

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
    auto state = std::make_shared<detail::MergedChannel<T>>(capacity);
    state->running = producers.size();
    if (producers.empty()) state->channel.close();
    auto* raw = state.get();
    state->threads.reserve(producers.size());
    try {
        for (auto& producer : producers) {
            state->threads.emplace_back([raw, produce = std::move(producer)] {
                std::exception_ptr error;
                try {
                    produce(raw->channel);
                } catch (const channel_closed&) {
                    // The consumer closed the channel: a normal way for a producer to end.
                } catch (...) {
                    error = std::current_exception();
                }
                raw->producer_finished(error);
            });
        }
    } catch (...) {
        // Could not start every thread: the ones started still count down `running`
        // from producers.size(), so close by hand; the state's destructor joins them.
        state->channel.close(std::current_exception());
        throw;
    }
    return std::shared_ptr<Channel<T>>(state, &state->channel);
}

// Pops up to n items (fewer if the channel ends first), then closes the channel so
// every producer still pushing is released with channel_closed. Closes also when a
// pop rethrows a producer's error, then lets that error through.
template <class T>
std::vector<T> take(Channel<T>& channel, std::size_t n) {
    std::vector<T> items;
    items.reserve(n < 65536 ? n : 65536);
    try {
        while (items.size() < n) {
            auto item = channel.pop();
            if (!item) break;
            items.push_back(std::move(*item));
        }
    } catch (...) {
        channel.close();
        throw;
    }
    channel.close();
    return items;
}

}  // namespace course::channels
