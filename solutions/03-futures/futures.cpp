#include "futures.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace course::futures {

// --- ThreadPool --------------------------------------------------------------------

ThreadPool::ThreadPool(unsigned n_threads) {
    if (n_threads == 0) throw std::invalid_argument("ThreadPool: needs at least one thread");
    workers_.reserve(n_threads);
    try {
        for (unsigned i = 0; i < n_threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
        shutdown();   // the destructor will not run: join the workers already started
        throw;
    }
}

ThreadPool::~ThreadPool() { shutdown(); }

void ThreadPool::enqueue(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw std::runtime_error("ThreadPool::submit after shutdown");
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();   // one job: one worker is enough
}

void ThreadPool::work() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            // Sleep until there is a job or the pool is stopping. When stopping, the
            // queue is still drained first: a worker leaves only when it is empty.
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;   // stopping and nothing left
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        // Run outside the lock, so the other workers can take jobs meanwhile. The job is
        // a packaged_task: it never throws here, it stores the exception in its future.
        job();
    }
}

void ThreadPool::shutdown() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();   // every sleeping worker must see stopping_
    // Join once, even if shutdown() is called again (or by the destructor afterwards).
    std::call_once(joined_, [this] {
        for (auto& w : workers_) w.join();
    });
}

// --- Exercise 7.1 ------------------------------------------------------------------

std::vector<int> slow_ops_parallel(ThreadPool& pool, std::chrono::milliseconds delay) {
    // The serial loop's shape, with every call replaced by submit: the futures are
    // created in the loop's order, so reading them back in that order gives the serial
    // results no matter which call finishes first.
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
            if (i < j)
                futures.push_back(pool.submit(slowadd, i, j, delay));
            else if (i > j)
                futures.push_back(pool.submit(slowsub, i, j, delay));
        }
    return when_all(std::move(futures));
}

// --- Exercise 7.2 ------------------------------------------------------------------

namespace {

std::string location(const std::filesystem::path& file, std::size_t line) {
    return file.string() + ":" + std::to_string(line) + ": ";
}

// Load + parse + store one file; runs on a pool worker, touches only its own files.
std::size_t load_parse_store_one(const std::filesystem::path& file, const std::filesystem::path& out_dir) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file.string() + ": cannot open");
    std::ostringstream csv;
    csv << "timestamp,open,high,low,close,volume\n";
    std::size_t rows = 0, line_number = 0;
    for (std::string line; std::getline(in, line);) {
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json row;
        try {
            row = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            throw std::runtime_error(location(file, line_number) + "not valid JSON (" + e.what() + ")");
        }
        if (!row.is_object()) throw std::runtime_error(location(file, line_number) + "not a JSON object");
        auto field = [&](const char* name) -> const nlohmann::json& {
            auto it = row.find(name);
            if (it == row.end()) throw std::runtime_error(location(file, line_number) + "no \"" + name + "\"");
            return *it;
        };
        const auto& ts = field("timestamp");
        if (!ts.is_string()) throw std::runtime_error(location(file, line_number) + "\"timestamp\" is not a string");
        csv << ts.get<std::string>();
        for (const char* name : {"open", "high", "low", "close", "volume"}) {
            const auto& v = field(name);
            if (!v.is_number())
                throw std::runtime_error(location(file, line_number) + "\"" + name + "\" is not a number");
            csv << ',' << v.dump();   // dump keeps the number exactly as parsed
        }
        csv << '\n';
        ++rows;
    }
    auto out_path = out_dir / (file.stem().string() + ".csv");
    std::ofstream out(out_path, std::ios::binary);
    out << csv.str();
    if (!out) throw std::runtime_error(out_path.string() + ": cannot write");
    return rows;
}

}  // namespace

std::vector<std::size_t> load_parse_store(const std::vector<std::filesystem::path>& files,
                                          const std::filesystem::path& out_dir, ThreadPool& pool) {
    std::filesystem::create_directories(out_dir);
    std::vector<std::future<std::size_t>> futures;
    for (auto& file : files) futures.push_back(pool.submit(load_parse_store_one, file, out_dir));
    // when_all waits for every file before rethrowing the first failure, so a broken
    // file never cuts short the good ones (and no task outlives this call).
    return when_all(std::move(futures));
}

// --- Exercise 7.3 ------------------------------------------------------------------

double correlation(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size())
        throw std::invalid_argument("correlation: series of different lengths (" + std::to_string(x.size()) +
                                    " and " + std::to_string(y.size()) + ")");
    if (x.size() < 2) throw std::invalid_argument("correlation: needs at least two points");
    const double n = double(x.size());
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0 || syy == 0) return 0.0;
    return sxy / std::sqrt(sxx * syy);
}

CorrelatedPair most_correlated_pair(const std::map<std::string, std::vector<double>>& series, ThreadPool& pool) {
    if (series.size() < 2) throw std::invalid_argument("most_correlated_pair: needs at least two series");
    const std::size_t length = series.begin()->second.size();
    for (auto& [name, values] : series)
        if (values.size() != length)
            throw std::invalid_argument("most_correlated_pair: series '" + name + "' has " +
                                        std::to_string(values.size()) + " points, '" +
                                        series.begin()->first + "' has " + std::to_string(length));

    // One task per unordered pair (the seed submits both (a, b) and (b, a); correlation
    // is symmetric, so half the work gives the same answer). The tasks hold pointers
    // into `series`, which outlives them: every future is waited for below.
    struct Job {
        const std::string *a, *b;
        std::future<double> r;
    };
    std::vector<Job> jobs;
    for (auto i = series.begin(); i != series.end(); ++i)
        for (auto j = std::next(i); j != series.end(); ++j)
            jobs.push_back({&i->first, &j->first, pool.submit(correlation, std::cref(i->second), std::cref(j->second))});

    // The reduction: small, serial, on the caller's thread.
    CorrelatedPair best{"", "", -2.0};
    std::exception_ptr failure;
    for (auto& job : jobs) {
        try {
            double r = job.r.get();
            if (r > best.r) best = {*job.a, *job.b, r};
        } catch (...) {
            if (!failure) failure = std::current_exception();
        }
    }
    if (failure) std::rethrow_exception(failure);
    return best;
}

}  // namespace course::futures
