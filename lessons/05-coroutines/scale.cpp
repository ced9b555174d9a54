// Section 4: scale on one thread. 1,000 and 10,000 gathered requests on ONE io_context
// run by ONE thread, the server's peak_in_flight beside; then what one waiting task
// costs: memory and creation time of a suspended coroutine vs a blocked thread, and one
// handoff between two coroutines vs between two threads.
//
// 10,000 connections need 10,000 descriptors at each end. With the server in this process
// that is 20,000 here, the hard RLIMIT_NOFILE of many machines; so this section starts the
// server in a child process (this same program, run with --serve-for-scale), and reads
// its counters over HTTP (/stats).
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <latch>
#include <malloc.h>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>

#include "parts.hpp"

extern char** environ;

namespace lesson05 {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using course::Clock;
using namespace std::chrono_literals;

namespace {

// Raises this process's soft limit of open files to its hard limit; returns the limit.
rlim_t raise_open_files_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

// The course server in a child process: this program run with --serve-for-scale. It
// prints its port on stdout and serves until its stdin closes.
class ChildServer {
public:
    ChildServer() {
        int to_child[2], from_child[2];
        if (::pipe2(to_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        if (::pipe2(from_child, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);     // dup2 clears O_CLOEXEC
        posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
        char self[] = "/proc/self/exe", mode[] = "--serve-for-scale";
        char* argv[] = {self, mode, nullptr};
        int error = posix_spawn(&pid_, self, &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(to_child[0]);
        ::close(from_child[1]);
        stdin_of_child_ = to_child[1];
        if (error != 0) {
            ::close(from_child[0]);
            ::close(stdin_of_child_);
            throw std::runtime_error("cannot start the server process");
        }
        char line[32] = {};
        ssize_t got = ::read(from_child[0], line, sizeof line - 1);
        ::close(from_child[0]);
        port_ = got > 0 ? std::atoi(line) : 0;
        if (port_ == 0) {
            stop();
            throw std::runtime_error("the server process did not report its port");
        }
    }
    ~ChildServer() { stop(); }
    ChildServer(const ChildServer&) = delete;
    ChildServer& operator=(const ChildServer&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    void stop() {
        if (stdin_of_child_ >= 0) ::close(std::exchange(stdin_of_child_, -1));   // EOF: the child stops
        if (pid_ > 0) ::waitpid(std::exchange(pid_, 0), nullptr, 0);
    }
    pid_t pid_ = 0;
    int stdin_of_child_ = -1;
    int port_ = 0;
};

// ---- memory and creation time of waiting tasks

// A coroutine that waits (on its own timer) until the loop is destroyed.
awaitable<void> wait_forever() {
    asio::steady_timer timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    co_await timer.async_wait(asio::as_tuple(use_awaitable));
}

struct TaskCost {
    std::size_t n = 0;           // tasks actually created
    double seconds = 0;          // to create them all and see them all waiting
    double bytes_per_task = 0;   // resident memory added, divided by n
};

TaskCost suspended_coroutines(std::size_t n) {
    malloc_trim(0);   // freed memory goes back first, so new frames show in the resident size
    std::size_t before = resident_bytes();
    asio::io_context io(1);
    course::Stopwatch watch;
    for (std::size_t i = 0; i < n; ++i) asio::co_spawn(io, wait_forever(), asio::detached);
    io.poll();   // every coroutine runs to its co_await and suspends
    TaskCost cost{n, watch.seconds(), 0};
    cost.bytes_per_task = (double(resident_bytes()) - double(before)) / double(n);
    return cost;   // destroying io destroys every suspended frame
}

TaskCost blocked_threads(std::size_t n) {
    malloc_trim(0);
    std::size_t before = resident_bytes();
    std::latch release(1);
    std::vector<std::thread> threads;
    threads.reserve(n);
    std::atomic<std::size_t> waiting{0};
    course::Stopwatch watch;
    try {
        for (std::size_t i = 0; i < n; ++i)
            threads.emplace_back([&] {
                ++waiting;
                release.wait();   // blocked in the kernel, holding its stack
            });
    } catch (const std::system_error&) {
        // as many as the system allows: measured below with what we have
    }
    while (waiting.load() < threads.size()) std::this_thread::yield();
    TaskCost cost{threads.size(), watch.seconds(), 0};
    cost.bytes_per_task = (double(resident_bytes()) - double(before)) / double(std::max<std::size_t>(1, threads.size()));
    release.count_down();
    for (auto& t : threads) t.join();
    return cost;
}

// ---- one handoff

course::coro::Generator<long> counter(long n) {
    for (long i = 0; i < n; ++i) co_yield i;
}

using Pipe = asio::experimental::channel<void(boost::system::error_code, long)>;

awaitable<void> pinger(Pipe* ping, Pipe* pong, long rounds) {
    for (long i = 0; i < rounds; ++i) {
        co_await ping->async_send(boost::system::error_code{}, i, use_awaitable);
        co_await pong->async_receive(use_awaitable);
    }
}

awaitable<void> ponger(Pipe* ping, Pipe* pong, long rounds) {
    for (long i = 0; i < rounds; ++i) {
        long v = co_await ping->async_receive(use_awaitable);
        co_await pong->async_send(boost::system::error_code{}, v, use_awaitable);
    }
}

double coroutine_ping_pong(long rounds) {
    asio::io_context io(1);
    Pipe ping(io, 0), pong(io, 0);   // capacity 0: a send waits for its receiver
    course::Stopwatch watch;
    asio::co_spawn(io, pinger(&ping, &pong, rounds), asio::detached);
    asio::co_spawn(io, ponger(&ping, &pong, rounds), asio::detached);
    io.run();
    return watch.seconds();
}

double thread_ping_pong(long rounds) {
    std::mutex mutex;
    std::condition_variable cv;
    int turn = 0;   // 0: the pinger's turn, 1: the ponger's
    course::Stopwatch watch;
    std::thread ponger_thread([&] {
        for (long i = 0; i < rounds; ++i) {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return turn == 1; });
            turn = 0;
            cv.notify_one();
        }
    });
    for (long i = 0; i < rounds; ++i) {
        std::unique_lock lock(mutex);
        turn = 1;
        cv.notify_one();
        cv.wait(lock, [&] { return turn == 0; });
    }
    ponger_thread.join();
    return watch.seconds();
}

// ---- the scale runs

struct ScaleRun {
    double seconds = 0;
    std::size_t answered = 0;
    std::optional<Counters> counters;
};

ScaleRun gather_delays(const std::string& base, std::size_t n, int delay_ms) {
    std::vector<std::string> urls(n, base + "/delay/" + std::to_string(delay_ms));
    course::Stopwatch watch;
    auto results = course::coro::run_on_one_thread(course::coro::gather(std::move(urls)));
    ScaleRun run{watch.seconds(), 0, server_counters(base)};
    for (auto& r : results) run.answered += r.ok() && r.response->status == 200;
    return run;
}

}  // namespace

int serve_for_scale() {
    raise_open_files_limit();
    course::LocalServer server;
    std::cout << server.port() << std::endl;
    std::string ignored;
    while (std::getline(std::cin, ignored)) {
    }
    return 0;
}

void scale_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("4. Scale on one thread: thousands of requests, one io_context, one run()");
    rlim_t limit = raise_open_files_limit();
    std::printf("RLIMIT_NOFILE raised to its hard limit: %llu open files per process.\n", (unsigned long long)limit);
    std::vector<std::size_t> sizes;
    if (s.n != 0) sizes = {s.n};
    else if (lesson.quick()) sizes = {1000};
    else sizes = {1000, 10000};
    constexpr int delay_ms = 200;

    course::ResultTable table("scale");
    for (std::size_t n : sizes) {
        std::unique_ptr<ChildServer> child;
        std::string base = s.url;
        if (base.empty()) {
            child = std::make_unique<ChildServer>();   // a fresh server: its counters start at 0
            base = child->url();
        }
        if (n + 64 > limit)
            std::printf("  note: %zu connections need more than the %llu descriptors this process may open;\n"
                        "  expect errors and a lower peak.\n", n, (unsigned long long)limit);
        auto run = gather_delays(base, n, delay_ms);
        auto& row = table.add({.variant = "gathered /delay/200, one thread", .n = n, .seconds = run.seconds,
                               .bound_seconds = delay_ms / 1000.0, .bound = "max delay", .workers = 1,
                               .ok = run.answered == n});
        row.extra["answered"] = run.answered;
        if (run.counters) row.extra["peak_in_flight"] = run.counters->peak_in_flight;
    }
    lesson.report(table);
    for (auto& row : table.rows())
        std::printf("  n = %5zu: %zu answered; the server's peak_in_flight = %s%s\n", row.n,
                    row.extra["answered"].get<std::size_t>(),
                    row.extra.contains("peak_in_flight") ? std::to_string(row.extra["peak_in_flight"].get<long long>()).c_str()
                                                         : "n/a (no /stats on this server)",
                    row.extra.contains("peak_in_flight") && row.extra["peak_in_flight"].get<long long>() == (long long)row.n
                        ? " (all at once)" : "");
    lesson.say("  Each request is a suspended frame waiting on its socket; the one thread's loop resumes");
    lesson.say("  whichever socket epoll reports ready. A peak below n means the first answers came back");
    lesson.say("  before the thread had connected and sent the last requests: connecting is the cost left.");
    lesson.say("  (The original material's Python asyncio client reached 71 % against this server at 1,000.)");

    // What one waiting task costs.
    std::size_t tasks = lesson.quick() ? 1000 : 10000;
    auto coroutines = suspended_coroutines(tasks);
    auto threads = blocked_threads(tasks);
    course::ResultTable cost("cost-per-waiting-task");
    auto& c = cost.add({.variant = "suspended coroutines (creation)", .n = coroutines.n, .seconds = coroutines.seconds,
                        .bound_seconds = coroutines.seconds, .bound = "coroutines' time", .workers = 1});
    c.extra["bytes_per_task"] = coroutines.bytes_per_task;
    auto& t = cost.add({.variant = "blocked threads (creation)", .n = threads.n, .seconds = threads.seconds,
                        .bound_seconds = coroutines.seconds * double(threads.n) / double(coroutines.n),
                        .bound = "coroutines' time", .workers = unsigned(threads.n), .ok = threads.n == tasks});
    t.extra["bytes_per_task"] = threads.bytes_per_task;
    lesson.report(cost);
    std::printf("  a suspended coroutine (waiting on a timer): %7.0f bytes resident, %s to create\n",
                coroutines.bytes_per_task, human(coroutines.seconds / double(coroutines.n)).c_str());
    std::printf("  a blocked thread (waiting on a latch):      %7.0f bytes resident, %s to create\n",
                threads.bytes_per_task, human(threads.seconds / double(std::max<std::size_t>(1, threads.n))).c_str());
    if (threads.n < tasks) std::printf("  (the system allowed only %zu threads)\n", threads.n);
    lesson.say("  A thread's resident cost is the stack pages it touched plus its thread-local data; each also");
    lesson.say("  reserves 8 MB of address space for its stack and kernel memory not counted here.");

    long rounds = lesson.quick() ? 20'000 : 200'000;
    double generator = course::best_of(3, [&] {
        volatile long sink = 0;
        for (long v : counter(rounds)) sink = sink + v;
    });
    double coro = coroutine_ping_pong(rounds);
    double thread = thread_ping_pong(rounds);
    course::ResultTable handoff("handoff");
    handoff.add({.variant = "Generator: resume + co_yield", .n = std::size_t(rounds), .seconds = generator,
                 .bound_seconds = generator, .bound = "bare resume", .workers = 1});
    handoff.add({.variant = "two coroutines, Asio channel", .n = std::size_t(rounds), .seconds = coro,
                 .bound_seconds = generator, .bound = "bare resume", .workers = 1});
    handoff.add({.variant = "two threads, condition variable", .n = std::size_t(rounds), .seconds = thread,
                 .bound_seconds = generator, .bound = "bare resume", .workers = 2});
    lesson.report(handoff);
    std::printf("  one round trip (there and back): bare resume %s, coroutines on the loop %s, threads %s\n",
                human(generator / double(rounds)).c_str(), human(coro / double(rounds)).c_str(),
                human(thread / double(rounds)).c_str());
    lesson.say("  Between coroutines a handoff is a function call and a queue; between threads it is a futex");
    lesson.say("  wake-up and a trip through the kernel's scheduler.");
}

}  // namespace lesson05
