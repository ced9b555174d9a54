// Tests of course::tvp::process_map: results in order, computed in other processes,
// crashes reported with their input, and no child left behind.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <csignal>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "course_catch.hpp"
#include "tvp.hpp"

namespace tvp = course::tvp;

namespace {

// True when this process has no child at all: none running, none left as a zombie.
bool no_children_left() {
    int status = 0;
    pid_t r = ::waitpid(-1, &status, WNOHANG);   // 0 = children still running, >0 = reaped one
    return r == -1 && errno == ECHILD;
}

long square_plus_one(const int& x) { return long(x) * x + 1; }

struct Where {
    pid_t pid;     // the process that ran fn
    pid_t parent;  // its parent
    int value;
};

int touched_by_children = 0;   // a child's copy changes, the parent's must not

// Memory shared between this process and its children (mmap MAP_SHARED survives fork,
// unlike ordinary memory, which each child gets its own copy of). Lock-free atomics
// work across processes.
struct SharedCounters {
    std::atomic<int> arrived{0};
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    std::atomic<bool> gave_up{false};
};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

SharedCounters* map_shared_counters() {
    void* p = ::mmap(nullptr, sizeof(SharedCounters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    return new (p) SharedCounters;
}

// True when message says "status <code>" with nothing more to the number ("status 7",
// not "status 70"): the wording the exercise README asks for.
bool names_exit_status(const std::string& message, int code) {
    const std::string wanted = "status " + std::to_string(code);
    for (auto at = message.find(wanted); at != std::string::npos; at = message.find(wanted, at + 1)) {
        auto after = at + wanted.size();
        if (after == message.size() || !std::isdigit(static_cast<unsigned char>(message[after]))) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("process_map returns fn of every input in input order") {
    std::vector<int> inputs(20);
    std::iota(inputs.begin(), inputs.end(), -3);
    std::vector<long> expected;
    for (int x : inputs) expected.push_back(square_plus_one(x));

    for (unsigned n_procs : {1u, 3u, 8u, 32u}) {
        INFO("n_procs = " << n_procs);
        CHECK(tvp::process_map(square_plus_one, inputs, n_procs) == expected);   // a function pointer
    }
    // Any callable: a lambda with a capture, a std::function; a result struct.
    int offset = 1000;
    auto shifted = tvp::process_map([offset](const int& x) { return x + offset; }, inputs, 4);
    CHECK(shifted.front() == 997);
    CHECK(shifted.back() == 1016);
    std::function<double(const int&)> half = [](const int& x) { return x / 2.0; };
    CHECK(tvp::process_map(half, inputs, 2)[0] == -1.5);
    CHECK(tvp::process_map(square_plus_one, std::vector<int>{}, 4).empty());
    // The inputs need not be trivially copyable: the child reads them in its copy of memory.
    std::vector<std::string> words{"one", "three", "sixteen"};
    CHECK(tvp::process_map([](const std::string& s) { return s.size(); }, words, 2) ==
          std::vector<std::size_t>{3, 5, 7});
    CHECK(no_children_left());
}

TEST_CASE("process_map rejects zero processes") {
    CHECK_THROWS_AS(tvp::process_map(square_plus_one, std::vector<int>{1, 2}, 0), std::invalid_argument);
}

TEST_CASE("process_map runs fn in child processes of the caller") {
    std::vector<int> inputs{1, 2, 3, 4, 5, 6, 7};
    auto where = tvp::process_map([](const int& x) { return Where{::getpid(), ::getppid(), 10 * x}; }, inputs, 3);
    REQUIRE(where.size() == inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        INFO("input " << i);
        CHECK(where[i].pid != ::getpid());
        CHECK(where[i].parent == ::getpid());
        CHECK(where[i].value == 10 * inputs[i]);
    }
    CHECK(no_children_left());
}

TEST_CASE("a child's writes to memory do not reach the parent") {
    touched_by_children = 0;
    auto seen = tvp::process_map([](const int& x) { touched_by_children += x; return touched_by_children; },
                                 std::vector<int>{5, 6, 7}, 2);
    // Each child started from its own copy of the parent's 0.
    CHECK(seen == std::vector<int>{5, 6, 7});
    CHECK(touched_by_children == 0);
}

TEST_CASE("process_map keeps n_procs children running at the same time and no more") {
    SharedCounters* shared = map_shared_counters();
    constexpr int n_procs = 4;
    std::vector<int> inputs(8);
    std::iota(inputs.begin(), inputs.end(), 0);
    // Each child counts itself in and waits (at most 10 s) until n_procs children have
    // arrived. Children run one after the other would never meet: the first gives up
    // after the limit and the rest return false at once.
    //
    // "No more": after meeting, the first n_procs children stay until a further child
    // arrives or about a second has passed. A process_map that starts more than n_procs
    // children at once has the (n_procs + 1)-th arrive while the first ones are still
    // here, and the peak shows it. A correct one cannot start another child before one
    // of the first ones has left, so they simply leave after the second (no flake: the
    // second only bounds how long the test takes, it never decides the outcome).
    auto meet = [shared](const int&) {
        int now = shared->running.fetch_add(1) + 1;
        int peak = shared->peak.load();
        while (now > peak && !shared->peak.compare_exchange_weak(peak, now)) {
        }
        const int arrival = shared->arrived.fetch_add(1);   // 0, 1, 2, ... in order of arrival
        auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        bool met = true;
        while (shared->arrived.load() < n_procs) {
            if (shared->gave_up.load() || std::chrono::steady_clock::now() > limit) {
                shared->gave_up = true;
                met = false;
                break;
            }
            ::sched_yield();
        }
        if (met && arrival < n_procs) {
            auto linger = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            while (shared->arrived.load() <= n_procs && std::chrono::steady_clock::now() < linger) ::sched_yield();
        }
        shared->running.fetch_sub(1);
        return met;
    };
    auto met = tvp::process_map(meet, inputs, n_procs);
    CHECK(std::count(met.begin(), met.end(), true) == long(inputs.size()));
    CHECK(shared->peak.load() <= n_procs);
    CHECK(shared->arrived.load() == int(inputs.size()));
    ::munmap(shared, sizeof(SharedCounters));
    CHECK(no_children_left());
}

TEST_CASE("a child killed by a signal is reported with its input index") {
    std::vector<int> inputs{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    auto crash_on_five = [](const int& x) {
        if (x == 5) std::raise(SIGKILL);   // uncatchable: the child dies on the spot
        return x;
    };
    try {
        tvp::process_map(crash_on_five, inputs, 3);
        FAIL("process_map returned although the child for input 5 was killed");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 5);
        std::string what = e.what();
        CHECK(what.find("input 5") != std::string::npos);
        CHECK(what.find("signal") != std::string::npos);
    }
    CHECK(no_children_left());
}

TEST_CASE("a child that exits with an error or throws is reported with its input index") {
    std::vector<int> inputs{0, 1, 2, 3};
    try {
        tvp::process_map([](const int& x) { if (x == 2) ::_exit(7); return x; }, inputs, 2);
        FAIL("process_map returned although the child for input 2 exited with status 7");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 2);
        CHECK(std::string(e.what()).find("input 2") != std::string::npos);
        // The exit status itself, not just any 7 (the message may name the child's pid).
        CHECK(names_exit_status(e.what(), 7));
    }
    try {
        tvp::process_map([](const int& x) { if (x == 3) throw std::runtime_error("bad input"); return x; }, inputs, 4);
        FAIL("process_map returned although fn threw for input 3");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 3);
        CHECK(std::string(e.what()).find("input 3") != std::string::npos);
    }
    CHECK(no_children_left());
}
