// Section 10: the original material's table beside ours and beside Python's, and the real
// zarr reading the same store from the same server when it is installed.
//
// The original material read 1,289 chunks from S3 over the internet (TLS): fsspec without a kept
// connection pool 342.6 s, requests.Session 98.5 s, aiohttp gather 1.80 s. The absolute
// times depend on the network; the ratios say what each change bought.
#include <cstdio>
#include <sstream>

#include "parts.hpp"

namespace lesson06 {

using namespace std::chrono_literals;

namespace {

// Python clients against this course's server on a 2-core machine, at latency 5 ms and
// connect cost 20 ms, 1,289 chunks: the Python peer of this lesson, python_clients.py in
// this folder (requests 2.28, aiohttp 3.8, CPython 3.11; medians of 3 runs).
constexpr double python_latency = 0.005, python_connect = 0.020;
constexpr std::size_t python_n = 1289;
constexpr double python_no_session = 34.55, python_session = 7.44, python_gather = 0.38, python_semaphore10 = 0.74;

// The first python3 that imports zarr, fsspec (with aiohttp) and numpy, or "".
std::string python_with_zarr() {
    for (const char* candidate : {"python3", "/usr/bin/python3"}) {
        std::string path = find_program(candidate);
        if (path.empty()) continue;
        ChildProcess check({path, "-c", "import zarr, fsspec, aiohttp, numpy"});
        if (check.wait_for(30s) == 0) return path;
    }
    return "";
}

// Run in the child: open the store over HTTP with fsspec's mapper, read it all with zarr,
// compare with numpy.arange. Times only the read (not Python's start or the imports).
constexpr const char* zarr_script = R"(
import sys, time
import numpy, fsspec, zarr
url, n = sys.argv[1], int(sys.argv[2])
start, cpu = time.perf_counter(), time.process_time()
array = zarr.open(fsspec.get_mapper(url), mode="r")[:]
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
exact = array.shape == (n,) and bool((array == numpy.arange(n, dtype="<f8")).all())
print("RESULT", seconds, cpu, int(exact), zarr.__version__, fsspec.__version__)
)";

struct ZarrRun {
    double seconds = 0, cpu = 0;   // the read's wall time, and the Python process's CPU meanwhile
    bool exact = false;
    std::string versions;
};

std::string ratio(double a, double b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, b > 0 ? "%.1fx" : "-", a / b);
    return buf;
}

}  // namespace

void comparison_section(course::Lesson& lesson, Settings& s) {
    lesson.section("10. The original material, Python and ours side by side; the real zarr");
    const Figures& f = s.figures;
    std::size_t n = s.store.chunks();
    std::printf("  a = a new connection per chunk, b = one reused connection, c = all at once\n");
    std::printf("  %-44s %9s %9s %9s %8s %8s %8s\n", "", "a", "b", "c", "a/b", "b/c", "a/c");
    auto line = [](const std::string& who, double a, double b, double c) {
        std::printf("  %-44s %9s %9s %9s %8s %8s %8s\n", who.c_str(), course::format_seconds(a).c_str(),
                    course::format_seconds(b).c_str(), course::format_seconds(c).c_str(), ratio(a, b).c_str(),
                    ratio(b, c).c_str(), ratio(a, c).c_str());
    };
    line("original material (S3 over the internet, TLS)", 342.6, 98.5, 1.80);
    line("Python here (5 ms / 20 ms, 1289 chunks)", python_no_session, python_session, python_gather);
    char ours[64];
    std::snprintf(ours, sizeof ours, "ours, this run (%d ms / %d ms, %zu chunks)", s.latency_ms, s.connect_cost_ms, n);
    line(ours, f.new_connection_each, f.one_connection, f.all_in_flight);
    lesson.say("  a/b is what a kept connection buys: (latency + connect) / latency, 3.5 in the original material");
    lesson.say("  and with this lesson's default 4 ms / 10 ms. b/c is what concurrency buys: n at best, less");
    lesson.say("  the CPU it takes to run them all at once. Python's c, 0.38 s for 1,289 chunks whose waits");
    lesson.say("  overlap to 25 ms, is ~0.3 ms of interpreter per chunk; ours spends a fraction of that.");
    if (s.latency_ms != 5 || s.connect_cost_ms != 20 || n != python_n)
        lesson.say("  (run with --latency-ms 5 --connect-cost-ms 20 to compare with Python at the same settings)");

    // Python's figures as measurements, with the same bounds ours have.
    course::ResultTable table("python-peer");
    auto quoted = [&](const std::string& variant, double seconds, double bound, const std::string& bound_is) {
        auto& row = table.add({.variant = variant, .n = python_n, .seconds = seconds, .bound_seconds = bound,
                               .bound = bound_is, .workers = 1, .ok = true});
        row.extra["source"] = "Python peer against this server, 5 ms latency, 20 ms connect (quoted)";
    };
    quoted("Python requests, no session", python_no_session, double(python_n) * (python_latency + python_connect),
           "n*(lat+conn)");
    quoted("Python requests.Session", python_session, python_connect + double(python_n) * python_latency,
           "conn+n*lat");
    quoted("Python aiohttp gather", python_gather, python_connect + python_latency, "conn+lat");
    quoted("Python aiohttp Semaphore(10)", python_semaphore10, window_bound(python_n, 10, python_latency, python_connect),
           "n/lim*lat+conn");
    if (f.limit_window > 0) {
        auto& row = table.add({.variant = "ours: fetch_all(urls, " + std::to_string(s.limit) + ") (sec. 4)", .n = n,
                               .seconds = f.limit_window, .bound_seconds = f.limit_window_bound,
                               .bound = "n/lim*lat+conn", .workers = 1, .ok = true});
        row.extra["source"] = "section 4";
    }

    // The real zarr, in a child process with a time limit: its failure is reported, not fatal.
    std::string python = python_with_zarr();
    std::optional<ZarrRun> zarr_run;
    Counters zarr_counters;
    std::string zarr_problem;
    if (python.empty()) {
        zarr_problem = "skipped: no python3 here imports zarr, fsspec, aiohttp and numpy (Debian: apt install "
                       "python3-zarr python3-fsspec python3-aiohttp)";
    } else {
        auto probe = s.probe();
        ChildProcess child({python, "-c", zarr_script, s.store.url, std::to_string(s.store.values)});
        auto code = child.wait_for(s.quick ? 30s : 60s);
        zarr_counters = probe.read();
        std::istringstream out(child.output());
        ZarrRun run;
        for (std::string word; out >> word;)
            if (word == "RESULT") {
                std::string zarr_version, fsspec_version;
                int exact = 0;
                out >> run.seconds >> run.cpu >> exact >> zarr_version >> fsspec_version;
                run.exact = exact == 1;
                run.versions = "zarr " + zarr_version + ", fsspec " + fsspec_version;
                zarr_run = run;
            }
        if (!code) zarr_problem = "the zarr reader did not finish within its time limit (killed)";
        else if (*code != 0 || !zarr_run)
            zarr_problem = "the zarr reader failed (exit " + std::to_string(*code) + "): " + child.output().substr(0, 600);
    }
    if (zarr_run && zarr_problem.empty()) {
        // fsspec gathers up to 1,280 keys at a time and aiohttp opens at most 100 connections.
        auto& row = table.add({.variant = "real zarr + fsspec HTTP (Python, now)", .n = n, .seconds = zarr_run->seconds,
                               .bound_seconds = window_bound(n, 100, s.latency(), s.connect_cost()),
                               .bound = "n/100*lat+conn", .workers = 1, .ok = zarr_run->exact});
        row.extra["versions"] = zarr_run->versions;
        row.extra["python_cpu_seconds"] = zarr_run->cpu;
        if (zarr_counters.connections_opened) row.extra["connections_opened"] = *zarr_counters.connections_opened;
        if (zarr_counters.peak_in_flight) row.extra["peak_in_flight"] = *zarr_counters.peak_in_flight;
    }
    lesson.report(table);
    if (!zarr_problem.empty()) {
        lesson.say("  real zarr: " + zarr_problem);
        return;
    }
    std::printf("  real zarr (%s, %s):\n  zarr.open(fsspec.get_mapper(url))[:] in %s, %s.\n"
                "  server: connections_opened = %s, peak_in_flight = %s, requests_served = %s: fsspec's\n"
                "  getitems gathers the keys with asyncio, aiohttp keeping up to 100 connections.\n"
                "  The Python process used %s of CPU during that %s\n  (%.0f %% of one core)%s\n",
                python.c_str(), zarr_run->versions.c_str(), human(zarr_run->seconds).c_str(),
                zarr_run->exact ? "equal to numpy.arange" : "NOT equal to numpy.arange",
                show(zarr_counters.connections_opened).c_str(), show(zarr_counters.peak_in_flight).c_str(),
                show(zarr_counters.requests_served).c_str(), human(zarr_run->cpu).c_str(),
                human(zarr_run->seconds).c_str(), 100 * zarr_run->cpu / zarr_run->seconds,
                zarr_run->cpu > 0.6 * zarr_run->seconds ? ": the interpreter's work, not the server, sets the pace."
                                                        : ".");
}

}  // namespace lesson06
