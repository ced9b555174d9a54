// Topic 02: threads and processes.
//
// Threads of one process share its memory: they can add up one array without copying
// it, and they can also trample on each other's data (a race) or wait on each other
// forever (a deadlock). Processes share nothing after fork(): a child gets its own copy
// of the parent's memory, so it can neither corrupt the parent nor hand back a result
// except through a channel the two agree on (here: a pipe). This header gives one tool
// of each kind, plus a bank whose accounts are shared by many threads.
//
//   parallel_sum   n threads, each summing its own slice of one shared array
//   Bank           shared accounts, one mutex each, transfers in every direction
//   process_map    fn(input) in child processes, results sent back through pipes
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "common/not_implemented.hpp"

namespace course::tvp {

// ---- parallel_sum ---------------------------------------------------------------------

// Called once per chunk, by the thread that sums that chunk, before it starts: the chunk
// is data[first, last). Tests use it to see which threads did the work.
using ChunkObserver = std::function<void(std::size_t first, std::size_t last)>;

// The sum of data (modulo 2^64: unsigned arithmetic wraps), computed by exactly
// n_threads threads, each summing one contiguous chunk of about data.size() / n_threads
// elements (a chunk may be empty when data has fewer elements than threads). The calling
// thread may sum one of the chunks itself. Throws std::invalid_argument if n_threads is 0.
std::uint64_t parallel_sum(std::span<const std::uint64_t> data, unsigned n_threads);
// The same, calling on_chunk(first, last) for each chunk on the thread that sums it.
std::uint64_t parallel_sum(std::span<const std::uint64_t> data, unsigned n_threads,
                           const ChunkObserver& on_chunk);

// ---- Bank -------------------------------------------------------------------------------

// Thrown by Bank::transfer when the payer's balance is smaller than the amount.
class insufficient_funds : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Accounts shared by many threads. Every member function may be called from any thread
// at any time.
//
// transfer(from, to, amount) is all or nothing and never deadlocks, whatever directions
// other threads transfer in at the same time:
//   - amount < 0                    -> std::invalid_argument, nothing changes
//   - from or to >= size()          -> std::out_of_range, nothing changes
//   - balance(from) < amount        -> insufficient_funds, nothing changes (balances
//                                      never go negative)
//   - from == to                    -> nothing changes (after the checks above)
// total() is the sum of all balances as of one instant: no transfer is half counted,
// so it always equals size() * initial_balance.
class Bank {
public:
    explicit Bank(std::size_t accounts, std::int64_t initial_balance);

    void transfer(std::size_t from, std::size_t to, std::int64_t amount);
    std::int64_t balance(std::size_t account) const;
    std::int64_t total() const;
    std::size_t size() const;

private:
    // A suggestion: change these members as you like (the tests use only the public part).
    // One lock per account, so transfers between different accounts run in parallel.
    // (A mutex cannot move, hence the array behind a pointer instead of a vector.)
    struct Account {
        mutable std::mutex mutex;
        std::int64_t balance = 0;
    };
    [[maybe_unused]] std::size_t size_ = 0;   // (unused until you write the bodies)
    std::unique_ptr<Account[]> accounts_;
};

// ---- process_map ------------------------------------------------------------------------

// Thrown by process_map when the child computing inputs[index] did not return a result:
// it was killed by a signal, exited with a non-zero status, or fn threw in it.
class child_failed : public std::runtime_error {
public:
    child_failed(std::size_t index, const std::string& what)
        : std::runtime_error(what), index_(index) {}
    std::size_t index() const { return index_; }

private:
    std::size_t index_;
};

namespace detail {
// The untyped core of process_map (in tvp.cpp). For every i in [0, n_tasks) it runs
// compute(i, results + i * result_size) in a child process, at most n_procs children at
// a time, and copies the result_size bytes the child wrote there back into the parent's
// results buffer through a pipe. Every child is reaped before it returns or throws.
void run_in_child_processes(std::size_t n_tasks, unsigned n_procs, std::size_t result_size,
                            const std::function<void(std::size_t, std::byte*)>& compute,
                            std::byte* results);
}  // namespace detail

// process_map(fn, inputs, n_procs) -> {fn(inputs[0]), fn(inputs[1]), ...}, each call run
// in a child process (fork), at most n_procs children alive at once, results in input
// order. The children see inputs for free (fork copies the parent's memory), but the
// results must travel back through a pipe as raw bytes, hence R trivially copyable.
// Throws std::invalid_argument if n_procs is 0, child_failed naming the input index if a
// child crashes; no child is left running or unreaped either way.
//
// Written for you: it only turns fn into bytes and calls detail::run_in_child_processes.
template <class F, class In>
auto process_map(F fn, const std::vector<In>& inputs, unsigned n_procs)
    -> std::vector<std::decay_t<std::invoke_result_t<F&, const In&>>> {
    using R = std::decay_t<std::invoke_result_t<F&, const In&>>;
    static_assert(std::is_trivially_copyable_v<R>,
                  "process_map: the result travels through a pipe as bytes, so it must be trivially copyable");
    static_assert(std::is_default_constructible_v<R>, "process_map: the result must be default constructible");
    std::vector<std::byte> bytes(inputs.size() * sizeof(R));
    detail::run_in_child_processes(
        inputs.size(), n_procs, sizeof(R),
        [&](std::size_t i, std::byte* out) {
            R r = std::invoke(fn, inputs[i]);   // runs in the child
            std::memcpy(out, &r, sizeof(R));
        },
        bytes.data());
    std::vector<R> results(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        R r;
        std::memcpy(&r, bytes.data() + i * sizeof(R), sizeof(R));
        results[i] = r;
    }
    return results;
}

}  // namespace course::tvp
