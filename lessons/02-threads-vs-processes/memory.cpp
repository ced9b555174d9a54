// Section 4: what a thread and a process cost in memory.
//
// A new thread gets a stack (8 MiB of address space reserved, a few KiB actually
// touched) and a kernel stack; everything else it shares. A new process made by fork
// gets its own page tables and a copy-on-write view of all the parent's memory: no page
// is copied until somebody writes to it, so RSS (which counts shared pages in full)
// overstates the cost, and Private (pages only that process holds) shows the real extra.
// The kernel's own share (kernel stacks, page tables) is in no process's RSS: we read it
// from /proc/meminfo before and after. Those are machine-wide figures, so other programs
// running at the same time add noise.
#include <cstdio>
#include <fstream>
#include <latch>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "sections.hpp"

namespace tvp_lesson {
namespace {

using course::Measurement;
using course::ResultTable;

// "VmRSS:   1234 kB" style fields of one /proc file, in KiB.
std::map<std::string, long> read_kib_fields(const std::string& path) {
    std::map<std::string, long> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::istringstream value(line.substr(colon + 1));
        long kib = 0;
        std::string unit;
        if (value >> kib >> unit && unit == "kB") out[line.substr(0, colon)] = kib;
    }
    return out;
}

struct MemoryCost {
    double spawn_seconds = 0;
    long rss_kib = 0;        // what top and ps show (shared pages counted in full)
    long private_kib = 0;    // pages that belong to the new threads/processes only
    long kernel_kib = 0;     // kernel stacks + page tables (from /proc/meminfo)
    long virtual_kib = 0;    // address space reserved (threads: their stacks)
};

long kernel_kib() {
    auto m = read_kib_fields("/proc/meminfo");
    return m["KernelStack"] + m["PageTables"];
}

MemoryCost cost_of_threads(int n) {
    MemoryCost c;
    auto before = read_kib_fields("/proc/self/status");
    long kernel_before = kernel_kib();
    std::latch started(n), release(1);
    course::Stopwatch watch;
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < n; ++i)
            threads.emplace_back([&] {
                started.count_down();
                release.wait();   // stay alive (and blocked) until measured
            });
        started.wait();
        c.spawn_seconds = watch.seconds();
        auto during = read_kib_fields("/proc/self/status");
        c.kernel_kib = kernel_kib() - kernel_before;
        c.rss_kib = during["VmRSS"] - before["VmRSS"];
        c.private_kib = c.rss_kib;   // a thread's new pages are all its own (stack, TLS)
        c.virtual_kib = during["VmSize"] - before["VmSize"];
        release.count_down();
    }
    return c;
}

MemoryCost cost_of_processes(int n) {
    MemoryCost c;
    long kernel_before = kernel_kib();
    // Two pipes: each child writes one byte to `ready` once it runs, then blocks reading
    // `hold` until the parent closes it (end of file) and exits. The parent closes hold
    // after measuring, then reaps every child.
    int ready[2], hold[2];
    if (::pipe(ready) < 0 || ::pipe(hold) < 0) throw std::runtime_error("memory section: pipe failed");
    std::vector<pid_t> children;
    course::Stopwatch watch;
    for (int i = 0; i < n; ++i) {
        pid_t pid = ::fork();
        if (pid < 0) break;
        if (pid == 0) {
            ::close(ready[0]);
            ::close(hold[1]);
            char b = 1;
            if (::write(ready[1], &b, 1) != 1) ::_exit(1);
            while (::read(hold[0], &b, 1) > 0) {
            }
            ::_exit(0);
        }
        children.push_back(pid);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    for (std::size_t got = 0; got < children.size();) {
        char buf[64];
        ssize_t r = ::read(ready[0], buf, sizeof buf);
        if (r <= 0) break;
        got += std::size_t(r);
    }
    c.spawn_seconds = watch.seconds();
    c.kernel_kib = kernel_kib() - kernel_before;
    for (pid_t pid : children) {
        auto status = read_kib_fields("/proc/" + std::to_string(pid) + "/status");
        auto rollup = read_kib_fields("/proc/" + std::to_string(pid) + "/smaps_rollup");
        c.rss_kib += status["VmRSS"];
        c.virtual_kib += status["VmSize"];
        c.private_kib += rollup["Private_Clean"] + rollup["Private_Dirty"];
    }
    ::close(hold[1]);   // every child reads end of file and exits
    ::close(ready[0]);
    for (pid_t pid : children) {
        int st;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (int(children.size()) != n) throw std::runtime_error("memory section: fork failed after " +
                                                            std::to_string(children.size()) + " children");
    return c;
}

}  // namespace

void memory_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("4. Memory: 100 threads vs 100 processes");
    const int n = s.quick ? 20 : 100;
    auto self = read_kib_fields("/proc/self/status");
    MemoryCost threads = cost_of_threads(n);
    MemoryCost procs = cost_of_processes(n);

    lesson.say("Each thread/process blocks until measured; figures per thread/process (KiB), this process's own RSS " +
               std::to_string(self["VmRSS"]) + " KiB:");
    char line[200];
    std::snprintf(line, sizeof line, "  %-14s %10s %10s %12s %14s", "", "RSS", "private", "kernel", "address space");
    lesson.say(line);
    for (auto [name, c] : {std::pair{"per thread", threads}, std::pair{"per process", procs}}) {
        std::snprintf(line, sizeof line, "  %-14s %10.1f %10.1f %12.1f %14.1f", name, double(c.rss_kib) / n,
                      double(c.private_kib) / n, double(c.kernel_kib) / n, double(c.virtual_kib) / n);
        lesson.say(line);
    }
    lesson.say("(RSS of a child counts the pages it shares copy-on-write with the parent; private is what it");
    lesson.say(" adds; kernel = KernelStack + PageTables from /proc/meminfo, machine-wide, so noisy; a thread's");
    lesson.say(" address space is its stack reservation, a child's is a copy of the parent's whole map.)");

    ResultTable table("memory");
    auto add = [&](const char* variant, const MemoryCost& c) {
        Measurement row{.variant = variant, .n = std::size_t(n), .seconds = c.spawn_seconds,
                        .bound_seconds = threads.spawn_seconds, .bound = "threads' time", .workers = unsigned(n)};
        row.extra["rss_kib_each"] = double(c.rss_kib) / n;
        row.extra["private_kib_each"] = double(c.private_kib) / n;
        row.extra["kernel_kib_each"] = double(c.kernel_kib) / n;
        row.extra["address_space_kib_each"] = double(c.virtual_kib) / n;
        table.add(row);
    };
    add("spawn threads", threads);
    add("spawn processes", procs);
    lesson.report(table);
    lesson.say("seconds = time until all of them run. Threads are cheaper to start and to keep, but every");
    lesson.say("byte they own is also reachable by all the others: that is the race of section 2.");
}

}  // namespace tvp_lesson
