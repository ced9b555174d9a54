// Tests of course::tvp::process_map: results in order, computed in other processes,
// crashes reported with their input, and no child left behind.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cctype>
#include <chrono>
#include <csignal>
#include <fstream>
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
#include "witness.hpp"

namespace tvp = course::tvp;
using namespace std::chrono_literals;
using tvp_test::AlarmDeadline;

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

// Rule: "For every task `i`, run `compute(i, results + i * result_size)` ... and bring the
// `result_size` bytes the child computed back into the parent's `results`" (in input
// order, for any callable and any number of processes).
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

// Rule: process_map with n_procs == 0 is an std::invalid_argument (tvp.hpp).
TEST_CASE("process_map rejects zero processes") {
    CHECK_THROWS_AS(tvp::process_map(square_plus_one, std::vector<int>{1, 2}, 0), std::invalid_argument);
}

// Rule: "run `compute(i, ...)` in a child process made with `fork()`".
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

// Rule: "run `compute(i, ...)` in a child process made with `fork()`" (its own memory).
TEST_CASE("a child's writes to memory do not reach the parent") {
    touched_by_children = 0;
    auto seen = tvp::process_map([](const int& x) { touched_by_children += x; return touched_by_children; },
                                 std::vector<int>{5, 6, 7}, 2);
    // Each child started from its own copy of the parent's 0.
    CHECK(seen == std::vector<int>{5, 6, 7});
    CHECK(touched_by_children == 0);
}

// Rule: "at most `n_procs` children alive at once" -- and that many, not one at a time.
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

// Rule: "A child that is killed by a signal ... is reported by throwing
// `child_failed(index, message)`, with \"input <index>\" in the message and ... \"signal\"";
// "every child is reaped (`waitpid`) before you return or throw".
TEST_CASE("a child killed by a signal is reported with its input index") {
    std::vector<int> inputs{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    auto crash_on_five = [](const int& x) {
        if (x == 5) std::raise(SIGKILL);   // uncatchable: the child dies on the spot
        return x;
    };
    AlarmDeadline limit(20s, "process_map with a child killed by a signal");
    try {
        tvp::process_map(crash_on_five, inputs, 3);
        FAIL("process_map returned although the child for input 5 was killed");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 5);
        std::string what = e.what();
        CHECK_THAT(what, ContainsSubstring("input 5"));
        CHECK_THAT(what, ContainsSubstring("signal"));
    }
    CHECK(no_children_left());
}

// Rule: "A child that ... exits with a non-zero status ... is reported by throwing
// `child_failed`" with "`status 7` when the child called `_exit(7)`"; an exception thrown
// by fn in the child is a failure too (never swallowed).
TEST_CASE("a child that exits with an error or throws is reported with its input index") {
    std::vector<int> inputs{0, 1, 2, 3};
    AlarmDeadline limit(20s, "process_map with a child that exits with status 7 or throws");
    try {
        tvp::process_map([](const int& x) { if (x == 2) ::_exit(7); return x; }, inputs, 2);
        FAIL("process_map returned although the child for input 2 exited with status 7");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 2);
        CHECK_THAT(e.what(), ContainsSubstring("input 2"));
        // The exit status itself, not just any 7 (the message may name the child's pid).
        INFO("message: " << e.what());
        CHECK(names_exit_status(e.what(), 7));
    }
    try {
        tvp::process_map([](const int& x) { if (x == 3) throw std::runtime_error("bad input"); return x; }, inputs, 4);
        FAIL("process_map returned although fn threw for input 3");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 3);
        CHECK_THAT(e.what(), ContainsSubstring("input 3"));
    }
    CHECK(no_children_left());
}

namespace {

// The scheduler state of process `pid` ('Z' once it has exited and waits to be reaped),
// or '?' once it is gone (reaped).
char process_state(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return '?';
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
}

struct SharedPids {
    std::atomic<pid_t> pid[8];
};
static_assert(std::atomic<pid_t>::is_always_lock_free);

}  // namespace

// Rule: "bring the `result_size` bytes the child computed back into the parent's
// `results`" at `results + i * result_size`: results in input order, not in the order
// the children happen to finish.
TEST_CASE("process_map puts each result at its input's place even when the children finish in reverse order") {
    void* p = ::mmap(nullptr, sizeof(SharedPids), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    auto* shared = new (p) SharedPids;
    for (auto& pid : shared->pid) pid = 0;
    constexpr int n = 6;
    std::vector<int> inputs(n);
    std::iota(inputs.begin(), inputs.end(), 0);
    // The child for input 0 finishes last: it waits (at most 10 s) until every other
    // child has exited (a zombie, or already reaped). The others return at once.
    auto last_for_zero = [shared](const int& x) {
        shared->pid[x] = ::getpid();
        if (x != 0) return 100 + x;
        auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (int other = 1; other < n; ++other) {
            for (;;) {
                pid_t pid = shared->pid[other].load();
                char state = pid == 0 ? 'R' : process_state(pid);
                if (state == 'Z' || state == '?') break;
                if (std::chrono::steady_clock::now() > limit) return -1;   // the others never finished
                ::sched_yield();
            }
        }
        return 100;
    };
    std::vector<int> results;
    {
        AlarmDeadline limit(30s, "process_map with children finishing in reverse order");
        results = tvp::process_map(last_for_zero, inputs, n);
    }
    ::munmap(p, sizeof(SharedPids));
    CHECK(results == std::vector<int>{100, 101, 102, 103, 104, 105});   // -1: input 0 waited for the others in vain
    CHECK(no_children_left());
}

// Rule: "A child that ... sends too few bytes is reported by throwing
// `child_failed(index, message)`, with \"input <index>\" in the message" (exit status 0
// is not enough: the result must arrive).
TEST_CASE("a child that exits with status 0 without sending its result is reported with its input index") {
    std::vector<int> inputs{0, 1, 2};
    AlarmDeadline limit(20s, "process_map with a child that sends nothing");
    try {
        tvp::process_map([](const int& x) { if (x == 1) ::_exit(0); return x; }, inputs, 3);
        FAIL("process_map returned although the child for input 1 sent no result");
    } catch (const tvp::child_failed& e) {
        CHECK(e.index() == 1);
        CHECK_THAT(e.what(), ContainsSubstring("input 1"));
    }
    CHECK(no_children_left());
}
