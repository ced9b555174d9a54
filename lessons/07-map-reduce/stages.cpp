// Section 3: threads vs processes for the same job, stage by stage. The word count again,
// written out here in its four stages so that each can be timed, once on threads (the
// shuffle stays in memory) and once on worker processes (the shuffle goes through files,
// as Spark persists a stage's output to local disk before the next stage reads it):
//
//                   threads: one address space            processes: nothing shared but files
//   map             count one file's words (a combiner)    the same
//   shuffle write   split the counts into R vectors:        split, encode, write R files
//                   handing them over moves a pointer       map-<i>-<r> (.tmp, renamed when complete)
//   shuffle read    take partition r of every map task:     read and decode the M files map-*-<r>
//                   nothing to read
//   reduce          add up partition r                      the same, then write reduce-<r>
//   collect         merge the R results                     read the R files back, merge
//
// Both run the same static schedule: worker w takes tasks w, w + W, w + 2W, ... of a phase.
// The processes are forked afresh for each phase (the parent waits for every map before it
// starts a reduce), and send their timings back over a pipe.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "parts.hpp"

namespace lesson07 {

namespace {

using namespace std::chrono_literals;
using Pairs = std::vector<std::pair<std::string, std::uint64_t>>;

// One task's two stages (map: map + shuffle write; reduce: shuffle read + reduce).
struct TaskTime {
    std::uint32_t task = 0;
    double first = 0, second = 0;   // seconds of each stage
    double cpu = 0;                 // CPU seconds the task's thread used (less than first + second
                                    // when the task had to wait for a core)
    std::uint64_t bytes = 0;        // intermediate bytes written (map) or read (reduce)
    Clock::rep start = 0, end = 0;  // steady_clock ticks: one clock for every process
};

// Where the time of one run went, summed over the tasks (worker-seconds).
struct StageTimes {
    double map = 0, shuffle_write = 0, shuffle_read = 0, reduce = 0, collect = 0, wall = 0;
    double cpu = 0;   // of every task
    std::uint64_t written = 0, read = 0;
    std::vector<TaskTime> maps, reduces;
};

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double thread_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

// ---- the stages, the same code for threads and processes

Counts map_file(const fs::path& file) {
    Counts counts;
    for_each_token(file, [&](const std::string& token) { ++counts[token]; });
    return counts;
}

std::vector<Pairs> split(const Counts& counts, unsigned partitions) {
    std::vector<Pairs> parts(partitions);
    for (const auto& [word, count] : counts) parts[mr::partition_of(word, partitions)].emplace_back(word, count);
    return parts;
}

void add_into(Counts& total, const Pairs& pairs) {
    for (const auto& [word, count] : pairs) total[word] += count;
}

// ---- what only the processes do: pairs as bytes in files

std::string encode(const Pairs& pairs) {
    std::string bytes;
    for (const auto& [word, count] : pairs) {
        auto length = std::uint32_t(word.size());
        bytes.append(reinterpret_cast<const char*>(&length), sizeof length);
        bytes += word;
        bytes.append(reinterpret_cast<const char*>(&count), sizeof count);
    }
    return bytes;
}

void decode(const std::string& bytes, const fs::path& from, Pairs& into) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        std::uint32_t length = 0;
        std::uint64_t count = 0;
        if (bytes.size() - at < sizeof length) throw std::runtime_error(from.string() + ": truncated record");
        std::memcpy(&length, bytes.data() + at, sizeof length);
        at += sizeof length;
        if (bytes.size() - at < std::size_t(length) + sizeof count)
            throw std::runtime_error(from.string() + ": truncated record");
        std::string word(bytes.data() + at, length);
        at += length;
        std::memcpy(&count, bytes.data() + at, sizeof count);
        at += sizeof count;
        into.emplace_back(std::move(word), count);
    }
}

// Written under a temporary name and renamed when complete: a reader never sees half a file.
void write_file(const fs::path& path, const std::string& bytes) {
    fs::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, path);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return std::move(bytes).str();
}

// A folder for one run's intermediate files, removed with them whatever happens.
struct Scratch {
    fs::path path = fs::temp_directory_path() / ("course-07-stages-" + std::to_string(::getpid()));
    Scratch() {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~Scratch() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path map_output(std::size_t task, std::size_t r) const {
        return path / ("map-" + std::to_string(task) + "-" + std::to_string(r));
    }
    fs::path reduce_output(std::size_t r) const { return path / ("reduce-" + std::to_string(r)); }
};

void add_up(StageTimes& t) {
    for (const auto& m : t.maps) t.map += m.first, t.shuffle_write += m.second, t.written += m.bytes, t.cpu += m.cpu;
    for (const auto& r : t.reduces) t.shuffle_read += r.first, t.reduce += r.second, t.read += r.bytes, t.cpu += r.cpu;
}

// A task's record: it started at `start` with `cpu_start` CPU seconds used by its thread,
// and its second stage began at `middle`.
TaskTime timed_task(std::size_t task, Clock::time_point start, double cpu_start, Clock::time_point middle,
                    std::uint64_t bytes) {
    return {std::uint32_t(task), std::chrono::duration<double>(middle - start).count(), since(middle),
            thread_cpu_seconds() - cpu_start, bytes, start.time_since_epoch().count(),
            Clock::now().time_since_epoch().count()};
}

Clock::time_point at_ticks(Clock::rep ticks) { return Clock::time_point(Clock::duration(ticks)); }

// ---- on threads

// Runs task(i, w) for i = w, w + W, ... on W threads; rethrows the first failure.
void on_threads(std::size_t tasks, unsigned workers, const std::function<void(std::size_t, unsigned)>& task) {
    std::vector<std::exception_ptr> errors(workers);
    {
        std::vector<std::jthread> pool;
        for (unsigned w = 0; w < workers; ++w)
            pool.emplace_back([&, w] {
                try {
                    for (std::size_t i = w; i < tasks; i += workers) task(i, w);
                } catch (...) {
                    errors[w] = std::current_exception();
                }
            });
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

StageTimes run_threads(const Settings& s, WordCounts& result, course::Recorder& rec) {
    const std::size_t m = s.files.size(), r_count = s.partitions;
    StageTimes t;
    t.maps.resize(m);
    t.reduces.resize(r_count);
    std::vector<std::vector<Pairs>> buckets(m);   // [map task][partition]: task i alone writes buckets[i]
    std::vector<Counts> results(r_count);         // reduce task r alone writes results[r]
    auto lane = [](unsigned w) { return "thread " + std::to_string(w + 1); };
    Clock::time_point start = Clock::now();
    on_threads(m, s.workers, [&](std::size_t i, unsigned w) {
        auto t0 = Clock::now();
        double cpu0 = thread_cpu_seconds();
        Counts counts = map_file(s.files[i]);
        auto t1 = Clock::now();
        buckets[i] = split(counts, s.partitions);
        t.maps[i] = timed_task(i, t0, cpu0, t1, 0);
        rec.record_on(lane(w), "map " + std::to_string(i), t0, Clock::now());
    });
    on_threads(r_count, s.workers, [&](std::size_t r, unsigned w) {
        auto t0 = Clock::now();
        double cpu0 = thread_cpu_seconds();
        std::vector<const Pairs*> inputs;   // the shuffle read: partition r of every map task
        for (const auto& task : buckets) inputs.push_back(&task[r]);
        auto t1 = Clock::now();
        for (const Pairs* pairs : inputs) add_into(results[r], *pairs);
        t.reduces[r] = timed_task(r, t0, cpu0, t1, 0);
        rec.record_on(lane(w), "reduce " + std::to_string(r), t0, Clock::now());
    });
    auto t0 = Clock::now();
    result.clear();
    for (const auto& counts : results) result.insert(result.end(), counts.begin(), counts.end());
    std::sort(result.begin(), result.end());
    t.collect = since(t0);
    t.wall = since(start);
    add_up(t);
    return t;
}

// ---- on processes

std::string as_bytes(const std::vector<TaskTime>& times) {
    return std::string(reinterpret_cast<const char*>(times.data()), times.size() * sizeof(TaskTime));
}

// The TaskTimes a child sent back, drawn on its lane and stored by task.
void take_times(const ChildResult& child, std::vector<TaskTime>& into, const char* kind, course::Recorder& rec) {
    if (child.payload.size() % sizeof(TaskTime) != 0)
        throw std::runtime_error("worker process " + std::to_string(child.pid) + " sent a broken timing record");
    for (std::size_t at = 0; at < child.payload.size(); at += sizeof(TaskTime)) {
        TaskTime task;
        std::memcpy(&task, child.payload.data() + at, sizeof task);
        if (task.task >= into.size()) throw std::runtime_error("worker process reported an unknown task");
        into[task.task] = task;
        rec.record_on("process " + std::to_string(child.pid), std::string(kind) + " " + std::to_string(task.task),
                      at_ticks(task.start), at_ticks(task.end), child.pid);
    }
}

StageTimes run_processes(const Settings& s, WordCounts& result, course::Recorder& rec) {
    const std::size_t m = s.files.size(), r_count = s.partitions;
    Scratch scratch;
    StageTimes t;
    t.maps.resize(m);
    t.reduces.resize(r_count);
    Clock::time_point start = Clock::now();
    auto maps = run_children(s.workers, [&](unsigned w) {
        std::vector<TaskTime> times;
        for (std::size_t i = w; i < m; i += s.workers) {
            auto t0 = Clock::now();
            double cpu0 = thread_cpu_seconds();
            Counts counts = map_file(s.files[i]);
            auto t1 = Clock::now();
            auto parts = split(counts, s.partitions);
            std::uint64_t bytes = 0;
            for (std::size_t r = 0; r < r_count; ++r) {
                std::string encoded = encode(parts[r]);
                bytes += encoded.size();
                write_file(scratch.map_output(i, r), encoded);
            }
            times.push_back(timed_task(i, t0, cpu0, t1, bytes));
        }
        return as_bytes(times);
    }, 600s);
    for (const auto& child : maps) take_times(child, t.maps, "map", rec);

    auto reduces = run_children(s.workers, [&](unsigned w) {
        std::vector<TaskTime> times;
        for (std::size_t r = w; r < r_count; r += s.workers) {
            auto t0 = Clock::now();
            double cpu0 = thread_cpu_seconds();
            std::vector<Pairs> inputs(m);   // the shuffle read: partition r of every map task
            std::uint64_t bytes = 0;
            for (std::size_t i = 0; i < m; ++i) {
                std::string encoded = read_file(scratch.map_output(i, r));
                bytes += encoded.size();
                decode(encoded, scratch.map_output(i, r), inputs[i]);
            }
            auto t1 = Clock::now();
            Counts total;
            for (const auto& pairs : inputs) add_into(total, pairs);
            write_file(scratch.reduce_output(r), encode(Pairs(total.begin(), total.end())));
            times.push_back(timed_task(r, t0, cpu0, t1, bytes));
        }
        return as_bytes(times);
    }, 600s);
    for (const auto& child : reduces) take_times(child, t.reduces, "reduce", rec);

    auto t0 = Clock::now();
    result.clear();
    for (std::size_t r = 0; r < r_count; ++r) decode(read_file(scratch.reduce_output(r)), scratch.reduce_output(r), result);
    std::sort(result.begin(), result.end());
    t.collect = since(t0);
    t.wall = since(start);
    add_up(t);
    return t;
}

}  // namespace

void stages_section(course::Lesson& lesson, Settings& s) {
    lesson.section("3. Threads vs processes for the same job: in-memory shuffle vs files on disk");
    course::Recorder threads_rec, processes_rec;
    WordCounts by_threads, by_processes;
    StageTimes th = run_threads(s, by_threads, threads_rec);
    StageTimes pr = run_processes(s, by_processes, processes_rec);
    // What one worker process costs to start and reap: fork (a copy of this process's page
    // tables), the child's _exit, the parent's waitpid.
    const double fork_cost = course::best_of(3, [&] {
        run_children(s.workers, [](unsigned) { return std::string(); }, 10s);
    }) / s.workers;

    const double serial = s.figures.serial_word_count;
    course::ResultTable table("threads-vs-processes");
    auto add = [&](const char* variant, const StageTimes& t, const WordCounts& got) {
        std::string problem = first_difference(s.reference_sorted, got);
        if (!problem.empty()) s.wrong_result(std::string("section 3, ") + variant + ": " + problem);
        auto& row = table.add({.variant = variant, .n = s.figures.tokens, .seconds = t.wall,
                               .bound_seconds = serial / s.busy(s.workers), .bound = "serial/w",
                               .workers = s.workers, .ok = problem.empty()});
        row.extra["map_seconds"] = t.map;
        row.extra["shuffle_write_seconds"] = t.shuffle_write;
        row.extra["shuffle_read_seconds"] = t.shuffle_read;
        row.extra["reduce_seconds"] = t.reduce;
        row.extra["collect_seconds"] = t.collect;
        row.extra["shuffle_bytes_written"] = t.written;
    };
    add("threads, shuffle in memory", th, by_threads);
    add("processes, shuffle in files", pr, by_processes);
    lesson.report(table);

    std::printf("  each stage, summed over its tasks (worker-seconds), the CPU those tasks used, and the whole run:\n");
    std::printf("  %-10s %9s %14s %13s %9s %9s %10s %9s\n", "", "map", "shuffle write", "shuffle read", "reduce",
                "collect", "task CPU", "wall");
    auto line = [](const char* who, const StageTimes& t) {
        std::printf("  %-10s %9s %14s %13s %9s %9s %10s %9s\n", who, human(t.map).c_str(),
                    human(t.shuffle_write).c_str(), human(t.shuffle_read).c_str(), human(t.reduce).c_str(),
                    human(t.collect).c_str(), human(t.cpu).c_str(), human(t.wall).c_str());
    };
    line("threads", th);
    line("processes", pr);
    const double shuffle_threads = th.shuffle_write + th.shuffle_read, shuffle_processes = pr.shuffle_write + pr.shuffle_read;
    std::printf("  The processes wrote %s of intermediate files (section 2 predicted %s: %s) and read\n"
                "  them back: their shuffle took %s of worker time where the threads' took %s. The files never\n"
                "  reach the disk within the run, the page cache holds them; a cluster writes them to local disk\n"
                "  and reads them over the network, and there the shuffle is what costs.\n",
                megabytes(pr.written).c_str(), megabytes(s.figures.combined_bytes).c_str(),
                pr.written == s.figures.combined_bytes ? "the same bytes" : "NOT the same", human(shuffle_processes).c_str(),
                human(shuffle_threads).c_str());
    std::printf("  Both spend nearly all their time in the map stage: parsing JSON and counting, not moving pairs.\n"
                "  The shuffle through files adds about %s of wall time (its extra worker time over %u workers);\n"
                "  the collect and a fork per worker per phase add %s more. Wall: threads %s, processes %s.\n",
                human((shuffle_processes - shuffle_threads) / s.busy(s.workers)).c_str(), s.busy(s.workers),
                human(pr.collect - th.collect + 2 * s.workers * fork_cost).c_str(), human(th.wall).c_str(),
                human(pr.wall).c_str());
    std::printf("  (one worker process costs %s to fork, exit and reap)\n", human(fork_cost).c_str());
    for (const auto* t : {&th, &pr}) {
        double in_tasks = t->map + t->shuffle_write + t->shuffle_read + t->reduce;
        if (t->cpu < 0.8 * in_tasks)
            std::printf("  note: the %s' tasks used %s of CPU in %s: they waited %s for a core (other work on\n"
                        "  this machine, load average %s), which no stage of ours explains.\n",
                        t == &th ? "threads" : "processes", human(t->cpu).c_str(), human(in_tasks).c_str(),
                        human(in_tasks - t->cpu).c_str(), load_average().c_str());
    }

    lesson.say("\n  threads (map tasks, then reduce tasks, on the same two threads):");
    lesson.timeline(threads_rec, "stages threads", 72);
    lesson.say("  processes (two forked for the maps, two fresh ones for the reduces):");
    lesson.timeline(processes_rec, "stages processes", 72);
}

}  // namespace lesson07
