// map_reduce on threads: the body of the template declared in mapreduce.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace course::mapreduce {

namespace detail {

// Runs task(0) ... task(count - 1) on up to `workers` threads, each taking the next index
// as it finishes the last; records which threads ran a task. Rethrows the first exception
// once every thread has stopped.
template <class Task>
void run_tasks(std::size_t count, unsigned workers, std::set<std::thread::id>& threads, Task task) {
    std::atomic<std::size_t> next{0};
    std::mutex mutex;  // guards threads and first_error
    std::exception_ptr first_error;
    {
        std::vector<std::jthread> pool;
        for (std::size_t w = 0; w < std::min<std::size_t>(workers, count); ++w)
            pool.emplace_back([&] {
                for (std::size_t i; (i = next++) < count;) {
                    try {
                        task(i);
                        std::lock_guard lock(mutex);
                        threads.insert(std::this_thread::get_id());
                    } catch (...) {
                        std::lock_guard lock(mutex);
                        if (!first_error) first_error = std::current_exception();
                    }
                }
            });
    }  // joined here
    if (first_error) std::rethrow_exception(first_error);
}

}  // namespace detail

template <class K, class V, class Input, class Mapper, class Reducer>
Output<K, V> map_reduce(const std::vector<Input>& inputs, Mapper mapper, Reducer reducer, Options options) {
    if (options.workers == 0) throw std::invalid_argument("map_reduce: workers must be at least 1");
    if (options.partitions == 0) throw std::invalid_argument("map_reduce: partitions must be at least 1");
    const unsigned R = options.partitions;
    Output<K, V> out;
    out.partitions.resize(R);

    // Map: task i writes only buckets[i], so the tasks share nothing while they run.
    // buckets[i][r] holds the pairs of map task i that belong to partition r.
    using Pairs = std::vector<std::pair<K, V>>;
    std::vector<std::vector<Pairs>> buckets(inputs.size(), std::vector<Pairs>(R));
    detail::run_tasks(inputs.size(), options.workers, out.threads, [&](std::size_t i) {
        if (options.combiner) {  // reduce this task's pairs per key before they cross
            std::unordered_map<K, V> combined;  // partition_of hashes K already
            mapper(inputs[i], Emit<K, V>([&](const K& key, V value) {
                       auto [at, fresh] = combined.try_emplace(key, value);
                       if (!fresh) at->second = reducer(std::move(at->second), std::move(value));
                   }));
            for (auto& [key, value] : combined) buckets[i][partition_of(key, R)].emplace_back(key, std::move(value));
        } else {
            mapper(inputs[i], Emit<K, V>([&](const K& key, V value) {
                       buckets[i][partition_of(key, R)].emplace_back(key, std::move(value));
                   }));
        }
    });

    // Shuffle: partition r's pairs are buckets[0][r], buckets[1][r], ...; nothing moves
    // between threads but the ownership of those vectors.
    for (const auto& task : buckets)
        for (const auto& pairs : task) out.shuffled += pairs.size();

    // Reduce: task r alone writes out.partitions[r].
    detail::run_tasks(R, options.workers, out.threads, [&](std::size_t r) {
        auto& result = out.partitions[r];
        for (auto& task : buckets)
            for (auto& [key, value] : task[r]) {
                auto [at, fresh] = result.try_emplace(key, value);
                if (!fresh) at->second = reducer(std::move(at->second), std::move(value));
            }
    });
    return out;
}

}  // namespace course::mapreduce
