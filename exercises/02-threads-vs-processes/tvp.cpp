// Exercise 02: write these functions (README.md says what each must do; tvp.hpp holds
// the contracts). Every body throws not_implemented until you replace it.
#include "tvp.hpp"

namespace course::tvp {

std::uint64_t parallel_sum(std::span<const std::uint64_t> data, unsigned n_threads) {
    throw course::not_implemented("course::tvp::parallel_sum");
}

std::uint64_t parallel_sum(std::span<const std::uint64_t> data, unsigned n_threads,
                           const ChunkObserver& on_chunk) {
    throw course::not_implemented("course::tvp::parallel_sum (with observer)");
}

Bank::Bank(std::size_t accounts, std::int64_t initial_balance) {
    throw course::not_implemented("course::tvp::Bank::Bank");
}

void Bank::transfer(std::size_t from, std::size_t to, std::int64_t amount) {
    throw course::not_implemented("course::tvp::Bank::transfer");
}

std::int64_t Bank::balance(std::size_t account) const {
    throw course::not_implemented("course::tvp::Bank::balance");
}

std::int64_t Bank::total() const {
    throw course::not_implemented("course::tvp::Bank::total");
}

std::size_t Bank::size() const {
    throw course::not_implemented("course::tvp::Bank::size");
}

namespace detail {

void run_in_child_processes(std::size_t n_tasks, unsigned n_procs, std::size_t result_size,
                            const std::function<void(std::size_t, std::byte*)>& compute,
                            std::byte* results) {
    throw course::not_implemented("course::tvp::process_map (detail::run_in_child_processes)");
}

}  // namespace detail

}  // namespace course::tvp
