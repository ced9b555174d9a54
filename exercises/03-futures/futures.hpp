// Topic 03: futures. Submit a call, get a future at once, ask it for the result later.
//
// YOUR TASK: replace every `throw course::not_implemented(...)` with a real body.
// Read README.md in this folder first; `./course check 03` tests your work and
// `./course hint 03` gives one hint at a time.
//
//   ThreadPool pool(4);
//   std::future<int> f = pool.submit(slowadd, 1, 2, 100ms);   // returns immediately
//   ...                                                       // the caller goes on
//   int three = f.get();                                      // waits; rethrows a task's exception
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/not_implemented.hpp"

namespace course::futures {

// A fixed set of worker threads taking jobs from one queue in submission order.
//
// - submit(f, args...) copies f and its arguments into a job, queues it and returns a
//   std::future of f's result at once. Whatever f returns or throws reaches the
//   caller's future.get(): an exception thrown on a worker must not kill the worker.
// - shutdown() stops accepting work (a later submit() throws std::runtime_error), lets
//   the workers finish every job already queued, then joins them. Calling it twice is
//   fine. The destructor does the same, so no future handed out is ever left broken.
class ThreadPool {
public:
    explicit ThreadPool(unsigned n_threads) {
        throw course::not_implemented("ThreadPool::ThreadPool");
    }
    ~ThreadPool() {}   // make it call shutdown()
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    template <class F, class... Args>
    auto submit(F&& f, Args&&... args)
        -> std::future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
        throw course::not_implemented("ThreadPool::submit");
    }

    void shutdown() { throw course::not_implemented("ThreadPool::shutdown"); }

    unsigned size() const { throw course::not_implemented("ThreadPool::size"); }   // the number of threads

private:
    // A suggestion; change these as you like.
    std::mutex mutex_;
    std::condition_variable wake_;              // "a job arrived, or we are stopping"
    std::deque<std::function<void()>> jobs_;    // waiting jobs, oldest first
    [[maybe_unused]] bool stopping_ = false;   // (unused until you write the bodies)
    std::vector<std::thread> workers_;
};

// Waits for every future, in order, and returns their values in the same order. If some
// threw, the first exception (in vector order) is rethrown, after all have finished.
template <class T>
std::vector<T> when_all(std::vector<std::future<T>> futures) {
    throw course::not_implemented("when_all");
}

// Given (the seed's functions): sleep for `delay`, then add or subtract.
inline int slowadd(int a, int b, std::chrono::milliseconds delay) {
    std::this_thread::sleep_for(delay);
    return a + b;
}
inline int slowsub(int a, int b, std::chrono::milliseconds delay) {
    std::this_thread::sleep_for(delay);
    return a - b;
}

// Exercise 7.1: the seed's double loop (i, j in 0..3: slowadd when i < j, slowsub when
// i > j), every call submitted to the pool; results in the serial loop's order,
// [1, 2, 3, 1, 3, 4, 2, 1, 5, 3, 2, 1].
std::vector<int> slow_ops_parallel(ThreadPool& pool, std::chrono::milliseconds delay);

// Exercise 7.2: for every daily-stock file (JSON lines with timestamp, open, high, low,
// close, volume), one pool task loads it, parses every line and stores the rows as
// out_dir/<stem>.csv (header "timestamp,open,high,low,close,volume"). Returns the rows
// of each file, in input order. Blank lines are skipped. A line that is not such an
// object makes that file fail with std::runtime_error "<file>:<line>: <reason>"; the
// other files are still processed and stored, then the first failure (in input order)
// is rethrown. Read each file as a stream, line by line: the tests pass one file as a
// named pipe (which has no size) to decide when it finishes.
std::vector<std::size_t> load_parse_store(const std::vector<std::filesystem::path>& files,
                                          const std::filesystem::path& out_dir, ThreadPool& pool);

// Pearson correlation of two series of the same length (at least 2 points; otherwise
// std::invalid_argument). A constant series correlates with nothing: 0.
double correlation(const std::vector<double>& x, const std::vector<double>& y);

struct CorrelatedPair {
    std::string a, b;   // a < b
    double r = 0;
};

// Exercise 7.3: the pair of distinct series with the greatest correlation, every pair's
// correlation computed as a pool task. At least two series, all of the same length
// (otherwise std::invalid_argument).
CorrelatedPair most_correlated_pair(const std::map<std::string, std::vector<double>>& series,
                                    ThreadPool& pool);

}  // namespace course::futures
