// Sections 7 and 8: the seed's daily-stock exercises. 7.2 loads, parses and stores
// every file (serially, then one task per file on a pool); 7.3 finds the most
// correlated pair of closing-price series with submit on threads, and with processes.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "futures.hpp"
#include "parts.hpp"

namespace fs = std::filesystem;
using course::Clock;
using course::Recorder;
using course::ResultTable;
using course::Stopwatch;
using course::futures::CorrelatedPair;
using course::futures::ThreadPool;

namespace lesson03 {

namespace {

// The daily-stock files of a folder: every *.json but the manifest, sorted.
std::vector<fs::path> stock_files(const fs::path& dir) {
    if (!fs::is_directory(dir)) throw std::runtime_error("no daily-stock folder at " + dir.string());
    std::vector<fs::path> files;
    for (auto& entry : fs::directory_iterator(dir))
        if (entry.path().extension() == ".json" && entry.path().filename() != "MANIFEST.json")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.size() < 2) throw std::runtime_error("fewer than two daily-stock files in " + dir.string());
    return files;
}

// A scratch folder for the stored files, removed when the section ends.
struct ScratchDir {
    fs::path path = fs::temp_directory_path() / ("course-03-lesson-" + std::to_string(::getpid()));
    ScratchDir() { fs::create_directories(path); }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

// --- 7.3 by processes --------------------------------------------------------------

struct PairRecord {        // what a child writes back per pair: fixed size, no pointers
    std::uint32_t index;   // into the list of pairs
    double r;
};

struct Pairs {
    std::vector<std::string> names;
    std::vector<std::vector<double>> closes;
    std::vector<std::pair<std::size_t, std::size_t>> pairs;   // (i, j), i < j
};

void write_all(int fd, const void* data, std::size_t size) {
    auto p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n <= 0) ::_exit(3);   // the parent went away: nothing sensible left to do
        p += n;
        size -= std::size_t(n);
    }
}

struct ChildSpan {         // after its records, a child reports when it ran
    std::int64_t start_ns, end_ns;
};

std::int64_t ns_of(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Child k of n computes the pairs k, k + n, k + 2n, ... (it inherited the series from
// the parent at fork: nothing is sent to it) and streams PairRecords into its pipe.
[[noreturn]] void child(const Pairs& work, unsigned k, unsigned n, int fd) {
    try {
        auto start = Clock::now();
        for (std::size_t p = k; p < work.pairs.size(); p += n) {
            auto [i, j] = work.pairs[p];
            PairRecord rec{std::uint32_t(p), course::futures::correlation(work.closes[i], work.closes[j])};
            write_all(fd, &rec, sizeof rec);
        }
        ChildSpan span{ns_of(start), ns_of(Clock::now())};
        write_all(fd, &span, sizeof span);
    } catch (...) {
        ::_exit(1);   // the parent reports the failed child
    }
    ::close(fd);
    ::_exit(0);   // no destructors, no atexit handlers of the parent's objects
}

std::vector<double> correlations_by_processes(const Pairs& work, unsigned n, Recorder& rec) {
    // Forked while this process runs no other thread (every pool of the lesson is joined).
    std::vector<double> r(work.pairs.size(), -2.0);
    std::vector<pid_t> pids;
    std::vector<int> fds;
    // If a pipe or fork fails part way, the children already started must not outlive
    // the lesson nor stay zombies: kill them, close their pipes and reap them first.
    auto give_up = [&](const char* what) {
        const std::string reason = std::string(what) + " failed: " + std::strerror(errno);
        for (std::size_t c = 0; c < pids.size(); ++c) {
            ::kill(pids[c], SIGKILL);
            ::close(fds[c]);
            int status = 0;
            while (::waitpid(pids[c], &status, 0) < 0 && errno == EINTR) {
            }
        }
        throw std::runtime_error("correlations_by_processes: " + reason);
    };
    for (unsigned k = 0; k < n; ++k) {
        int fd[2];
        if (::pipe(fd) != 0) give_up("pipe");
        pid_t pid = ::fork();
        if (pid < 0) {
            const int err = errno;
            ::close(fd[0]);
            ::close(fd[1]);
            errno = err;
            give_up("fork");
        }
        if (pid == 0) {
            ::close(fd[0]);
            for (int other : fds) ::close(other);
            child(work, k, n, fd[1]);
        }
        ::close(fd[1]);
        pids.push_back(pid);
        fds.push_back(fd[0]);
    }
    // Read each child's pipe to its end, then reap it: no zombie is left behind.
    std::string failed;
    for (unsigned k = 0; k < n; ++k) {
        std::string bytes;
        char buf[4096];
        for (ssize_t got; (got = ::read(fds[k], buf, sizeof buf)) > 0;) bytes.append(buf, std::size_t(got));
        ::close(fds[k]);
        int status = 0;
        ::waitpid(pids[k], &status, 0);
        std::size_t records = (work.pairs.size() + n - 1 - k) / n;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
            bytes.size() != records * sizeof(PairRecord) + sizeof(ChildSpan)) {
            failed = "child process " + std::to_string(pids[k]) + " failed";
            continue;
        }
        for (std::size_t q = 0; q < records; ++q) {
            PairRecord pr;
            std::memcpy(&pr, bytes.data() + q * sizeof pr, sizeof pr);
            r.at(pr.index) = pr.r;
        }
        ChildSpan span;
        std::memcpy(&span, bytes.data() + records * sizeof(PairRecord), sizeof span);
        auto at = [](std::int64_t ns) { return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns))); };
        rec.record_on("process " + std::to_string(pids[k]),
                      "pairs " + std::to_string(k) + " mod " + std::to_string(n), at(span.start_ns),
                      at(span.end_ns), pids[k]);
    }
    if (!failed.empty()) throw std::runtime_error("7.3 by processes: " + failed);
    return r;
}

CorrelatedPair best_of_pairs(const Pairs& work, const std::vector<double>& r) {
    CorrelatedPair best{"", "", -2.0};
    for (std::size_t p = 0; p < work.pairs.size(); ++p)
        if (r[p] > best.r) best = {work.names[work.pairs[p].first], work.names[work.pairs[p].second], r[p]};
    return best;
}

}  // namespace

void load_parse_store_files(course::Lesson& lesson, const Settings& s, const fs::path& dir,
                            const std::string& label, bool show_broken) {
    lesson.section("7. Exercise 7.2: load, parse and store every daily-stock file (" + label + ")");
    auto files = stock_files(dir);
    lesson.say(std::to_string(files.size()) + " files from " + dir.string() +
               "; each task reads one file's JSON lines, checks every field, writes <ticker>.csv.\n"
               "The work is CPU (parsing) plus a little I/O: the bound is the serial time over the cores.");
    ScratchDir out;
    ResultTable table(label == "sample" ? "exercise-7.2" : "exercise-7.2-" + label);

    std::size_t rows = 0;
    auto run = [&](unsigned threads) {
        ThreadPool pool(threads);
        return course::best_of(files.size() > 16 ? 1 : s.repeats, [&] {   // big folders: once is enough
            auto counts = course::futures::load_parse_store(files, out.path, pool);
            rows = 0;
            for (auto c : counts) rows += c;
        });
    };
    double serial = run(1);
    table.add({.variant = "pool of 1 (serial)", .n = files.size(), .seconds = serial, .bound_seconds = serial,
               .bound = "itself", .workers = 1, .extra = {{"rows", rows}}});
    for (unsigned threads : {cores(), s.workers}) {
        double t = run(threads);
        unsigned useful = std::min<unsigned>({threads, cores(), unsigned(files.size())});
        table.add({.variant = "load_parse_store", .n = files.size(), .seconds = t, .bound_seconds = serial / useful,
                   .bound = "serial/cores", .workers = threads, .extra = {{"rows", rows}}});
    }
    lesson.report(table);
    lesson.say(std::to_string(rows) + " rows stored as CSV. The original Python notes' serial run (21 files, pandas + HDF5) took "
               "9.4 s; they leave the parallel version as the exercise.");

    // A malformed line: its task throws, the exception crosses the future, and the message
    // names the file and the line. The good files are still stored.
    auto broken = fs::path(COURSE_DATASETS_DIR) / "broken" / "daily-stock-malformed.json";
    if (show_broken && fs::exists(broken)) {
        auto with_broken = files;
        with_broken.push_back(broken);
        ThreadPool pool(s.workers);
        try {
            course::futures::load_parse_store(with_broken, out.path, pool);
            lesson.say("the broken file went through?!");
        } catch (const std::runtime_error& e) {
            lesson.say(std::string("with datasets/broken/daily-stock-malformed.json added: ") + e.what());
        }
    }
}

void most_correlated(course::Lesson& lesson, const Settings& s, const fs::path& dir, const std::string& label) {
    lesson.section("8. Exercise 7.3: the most correlated pair of closing prices (" + label + ")");
    Pairs work;
    for (auto& file : stock_files(dir)) {
        std::ifstream in(file);
        std::vector<double> closes;
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) closes.push_back(nlohmann::json::parse(line).at("close").get<double>());
        work.names.push_back(file.stem().string());
        work.closes.push_back(std::move(closes));
    }
    std::map<std::string, std::vector<double>> series;
    for (std::size_t i = 0; i < work.names.size(); ++i) series[work.names[i]] = work.closes[i];
    for (std::size_t i = 0; i < work.names.size(); ++i)
        for (std::size_t j = i + 1; j < work.names.size(); ++j) work.pairs.emplace_back(i, j);
    const std::size_t n_pairs = work.pairs.size();
    const unsigned pool = 4;   // the seed's ThreadPoolExecutor(4) and ProcessPoolExecutor(4)
    lesson.say(std::to_string(work.names.size()) + " series of " + std::to_string(work.closes[0].size()) +
               " closes: " + std::to_string(n_pairs) + " pairs, one correlation each (the original notes compute all\n"
               "n x (n - 1) ordered pairs; correlation is symmetric, so half is enough).");

    // The answer the data was made with, when the folder has the generator's manifest.
    std::string planted;
    double planted_r = 0;
    if (std::ifstream m(dir / "MANIFEST.json"); m) {
        auto manifest = nlohmann::json::parse(m);
        planted = manifest["planted_pair"]["a"].get<std::string>() + " ~ " +
                  manifest["planted_pair"]["b"].get<std::string>();
        planted_r = manifest["planted_pair"]["correlation"].get<double>();
    }

    ResultTable table(label == "sample" ? "exercise-7.3" : "exercise-7.3-" + label);
    Recorder rec;
    std::vector<std::string> answers;
    auto add = [&](std::string variant, unsigned workers, double seconds, double bound_seconds, std::string bound,
                   const CorrelatedPair& best) {
        std::string answer = best.a + " ~ " + best.b;
        bool ok = planted.empty() || answer == planted;
        answers.push_back(variant + (workers ? " (" + std::to_string(workers) + ")" : "") + ": " + answer +
                          ", r = " + std::to_string(best.r) + (ok ? "" : "   NOT THE PLANTED PAIR"));
        table.add({.variant = std::move(variant), .n = n_pairs, .seconds = seconds, .bound_seconds = bound_seconds,
                   .bound = std::move(bound), .workers = workers, .ok = ok,
                   .extra = {{"a", best.a}, {"b", best.b}, {"r", best.r}}});
    };

    CorrelatedPair best;
    double serial = course::best_of(s.repeats, [&] {
        std::vector<double> r(n_pairs);
        for (std::size_t p = 0; p < n_pairs; ++p)
            r[p] = course::futures::correlation(work.closes[work.pairs[p].first], work.closes[work.pairs[p].second]);
        best = best_of_pairs(work, r);
    });
    add("serial", 0, serial, serial, "itself", best);
    const unsigned useful = std::min(pool, cores());
    {
        ThreadPool threads(pool);
        double t = course::best_of(s.repeats, [&] { best = course::futures::most_correlated_pair(series, threads); });
        add("threads: task per pair", pool, t, serial / useful, "serial/cores", best);
        // Coarser tasks: one per series, each correlating it with all the later ones.
        t = course::best_of(s.repeats, [&] {
            std::vector<std::future<std::vector<double>>> rows;
            for (std::size_t i = 0; i < work.names.size(); ++i)
                rows.push_back(threads.submit([&work, i] {
                    std::vector<double> r;
                    for (std::size_t j = i + 1; j < work.names.size(); ++j)
                        r.push_back(course::futures::correlation(work.closes[i], work.closes[j]));
                    return r;
                }));
            std::vector<double> r;
            for (auto& row : course::futures::when_all(std::move(rows))) r.insert(r.end(), row.begin(), row.end());
            best = best_of_pairs(work, r);   // rows in order give the pairs in order
        });
        add("threads: task per row", pool, t, serial / useful, "serial/cores", best);
    }   // the pool's threads are joined here, before any fork
    double t = course::best_of(s.repeats, [&] {
        rec.clear();
        best = best_of_pairs(work, correlations_by_processes(work, pool, rec));
    });
    add("processes (fork)", pool, t, serial / useful, "serial/cores", best);

    lesson.report(table);
    lesson.say("");
    for (auto& a : answers) lesson.say("  " + a);
    if (!planted.empty()) lesson.say("  planted by the generator (MANIFEST.json): " + planted + ", r = " + std::to_string(planted_r));
    lesson.say("\nThe processes, each reading its share of pairs (their time includes fork and exit):");
    lesson.timeline(rec, table.experiment());
    char per_pair[64];
    std::snprintf(per_pair, sizeof per_pair, "%.1f", serial / double(n_pairs) * 1e6);
    lesson.say(std::string("One correlation takes about ") + per_pair +
               " us here. Handing a task to a pool thread costs a few us, to a\n"
               "process far more (fork, pipe, exit): a task must outweigh its hand-over before a pool pays\n"
               "off; compare one task per pair with one task per row. The original notes' verdict, 'it didn't\n"
               "actually speed up the code very much', is this effect (and, for its threads, the GIL).");
    for (auto& m : table.rows())
        if (!m.ok) throw std::runtime_error("7.3: " + m.variant + " did not find the planted pair " + planted);
}

}  // namespace lesson03
