// Tests of course::tvp::parallel_sum: the right sum, on really distinct threads.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "course_catch.hpp"
#include "tvp.hpp"
#include "witness.hpp"

namespace tvp = course::tvp;
using namespace std::chrono_literals;

// Rule: "split `data` into `n_threads` contiguous chunks and sum each ..., then add the
// partial sums" (every element exactly once, empty chunks allowed, modulo 2^64).
TEST_CASE("parallel_sum adds every element exactly once for any number of threads") {
    std::vector<std::uint64_t> data(100'003);
    std::iota(data.begin(), data.end(), std::uint64_t{1});
    const std::uint64_t expected = std::uint64_t{100'003} * 100'004 / 2;
    for (unsigned n : {1u, 2u, 3u, 4u, 7u, 8u}) {
        INFO("n_threads = " << n);
        CHECK(tvp::parallel_sum(data, n) == expected);
    }
    // Fewer elements than threads: some chunks are empty, the sum is still right.
    std::vector<std::uint64_t> three{5, 6, 7};
    CHECK(tvp::parallel_sum(three, 8) == 18);
    CHECK(tvp::parallel_sum(std::span<const std::uint64_t>{}, 4) == 0);
    // Unsigned arithmetic wraps around modulo 2^64, also across chunks.
    std::vector<std::uint64_t> wrap{std::numeric_limits<std::uint64_t>::max(), 2};
    CHECK(tvp::parallel_sum(wrap, 2) == 1);
}

// Rule: "`n_threads == 0` is an `std::invalid_argument`".
TEST_CASE("parallel_sum rejects zero threads") {
    std::vector<std::uint64_t> data{1, 2, 3};
    CHECK_THROWS_AS(tvp::parallel_sum(data, 0), std::invalid_argument);
}

// Rule: "sum each on its own thread (the calling thread may take one chunk)"; "Call
// `on_chunk(first, last)` once per chunk, on the thread that sums it"; "The tests make
// every chunk wait until all `n_threads` chunks have started".
TEST_CASE("parallel_sum runs n_threads chunks on distinct threads at the same time") {
    std::vector<std::uint64_t> data(1000, 3);
    for (unsigned n : {2u, 4u, 8u}) {
        INFO("n_threads = " << n);
        // Every chunk waits at the rendezvous until all n have arrived: only n threads
        // running at the same time get through. One thread doing the chunks in turn
        // would wait alone, give up after the limit, and fail here.
        tvp_test::Rendezvous all_chunks(int(n), 10s);
        std::mutex m;
        std::set<std::thread::id> threads;
        std::vector<std::pair<std::size_t, std::size_t>> chunks;
        int met = 0;
        auto observe = [&](std::size_t first, std::size_t last) {
            {
                std::lock_guard lock(m);
                threads.insert(std::this_thread::get_id());
                chunks.emplace_back(first, last);
            }
            bool ok = all_chunks.arrive_and_wait();
            std::lock_guard lock(m);
            met += ok ? 1 : 0;
        };
        CHECK(tvp::parallel_sum(data, n, observe) == 3000);
        REQUIRE(met == int(n));   // stop at the first failure: each one waited the full limit
        CHECK(threads.size() == n);
        // The chunks tile the data: sorted, each starts where the previous one ended.
        REQUIRE(chunks.size() == n);
        std::sort(chunks.begin(), chunks.end());
        CHECK(chunks.front().first == 0);
        CHECK(chunks.back().second == data.size());
        for (std::size_t k = 1; k < chunks.size(); ++k) CHECK(chunks[k].first == chunks[k - 1].second);
    }
}

// Rule: "Call `on_chunk(first, last)` once per chunk, on the thread that sums it, before
// summing." The observer doubles its chunk's elements: called before summing, the sum
// counts the doubled values; called after (or not at all), it does not.
TEST_CASE("parallel_sum calls on_chunk before it sums that chunk") {
    for (unsigned n : {1u, 3u, 8u}) {
        INFO("n_threads = " << n);
        std::vector<std::uint64_t> data(10'000, 1);
        std::mutex m;
        std::uint64_t observed_elements = 0;
        auto double_my_chunk = [&](std::size_t first, std::size_t last) {
            // Only the thread that sums [first, last) touches it: no other thread reads it.
            for (std::size_t i = first; i < last; ++i) data[i] = 2;
            std::lock_guard lock(m);
            observed_elements += last - first;
        };
        CHECK(tvp::parallel_sum(data, n, double_my_chunk) == 2 * data.size());
        CHECK(observed_elements == data.size());
    }
}
