// Topic 03: futures. Submit a call, get a future at once, ask it for the result later.
//
// The reference solution. exercises/03-futures/futures.hpp declares the same API.
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

namespace course::futures {

// A fixed set of worker threads taking jobs from one queue in submission order.
//
// submit() wraps the call in a std::packaged_task: the task owns the promise, the
// caller keeps the future. Whatever the call returns or throws is stored in the shared
// state, so an exception thrown on a worker arrives at the caller's future.get().
//
// Shutdown drains: shutdown() (and the destructor, which calls it) stops accepting new
// work, lets the workers finish every job already queued, then joins them. A submit()
// after shutdown has begun throws std::runtime_error. Every future handed out is
// therefore satisfied: none is left broken.
class ThreadPool {
public:
    explicit ThreadPool(unsigned n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    template <class F, class... Args>
    auto submit(F&& f, Args&&... args)
        -> std::future<std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>> {
        using R = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;
        // The arguments are copied (or moved) into the task now, like std::async and
        // Python's submit: the call runs later, when the caller's variables may be gone.
        // packaged_task is move-only and std::function needs a copyable callable, hence
        // the shared_ptr.
        auto task = std::make_shared<std::packaged_task<R()>>(
            [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable -> R {
                return std::invoke(std::move(f), std::move(args)...);
            });
        std::future<R> result = task->get_future();
        enqueue([task] { (*task)(); });
        return result;
    }

    // Stops accepting work, finishes the queued jobs, joins the workers. Idempotent.
    void shutdown();

    unsigned size() const { return unsigned(workers_.size()); }

private:
    void enqueue(std::function<void()> job);
    void work();   // each worker's loop

    std::mutex mutex_;
    std::condition_variable wake_;       // "a job arrived, or we are stopping"
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
    std::once_flag joined_;
};

// Waits for every future, in order, and returns their values in the same order. If some
// threw, the first exception (in vector order) is rethrown, after all have finished.
template <class T>
std::vector<T> when_all(std::vector<std::future<T>> futures) {
    for (auto& f : futures) f.wait();
    std::vector<T> values;
    values.reserve(futures.size());
    for (auto& f : futures) values.push_back(f.get());
    return values;
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
