// Topic 07: map-reduce. Map (independent, so parallel) -> shuffle (every value of a key
// to one place: partition by hash) -> reduce (associative, so it can also run early, as a
// combiner). First on threads, generic; then the original material's device ids; then
// a word count whose tasks run in worker processes, with a coordinator that runs a dead
// or late task again and counts each task's output exactly once.
//
//   inputs    map tasks          shuffle (by partition_of(key))     reduce tasks
//   file 0 ─▶ [map 0] ─(k,v)─┬──▶ partition 0: every value of its keys ─▶ [reduce 0] ─▶ out 0
//   file 1 ─▶ [map 1] ─(k,v)─┼──▶ partition 1 ─────────────────────────▶ [reduce 1] ─▶ out 1
//   file 2 ─▶ [map 2] ─(k,v)─┘       (a combiner reduces each map task's
//                                      pairs first: fewer pairs cross)
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/not_implemented.hpp"

namespace course::mapreduce {

// ------------------------------------------------------------------ on threads

struct Options {
    unsigned workers = 2;     // threads that run the map and reduce tasks
    unsigned partitions = 4;  // R: reduce partitions
    bool combiner = false;    // reduce each map task's pairs before the shuffle
};

// The partition of a key among R: the same key always goes to the same one.
template <class K>
std::size_t partition_of(const K& key, unsigned partitions) {
    return std::hash<K>{}(key) % partitions;
}

template <class K, class V>
struct Output {
    // Partition r holds exactly the keys with partition_of(key, R) == r, each once, with
    // every value of that key reduced.
    std::vector<std::map<K, V>> partitions;
    std::size_t shuffled = 0;          // (key, value) pairs that crossed the shuffle
    std::set<std::thread::id> threads; // the threads that ran a map or reduce task

    std::map<K, V> merged() const {
        std::map<K, V> all;
        for (const auto& p : partitions) all.insert(p.begin(), p.end());
        return all;
    }
};

template <class K, class V>
using Emit = std::function<void(const K&, V)>;

// Runs mapper(input, emit) for every input (one map task each) on `workers` threads,
// shuffles the emitted pairs into `partitions` by partition_of, and reduces each
// partition's values per key with reducer(V, V) -> V (one reduce task per partition).
// The reducer must be associative and commutative: the order in which values meet is
// not fixed. With options.combiner, each map task's pairs are reduced per key first.
template <class K, class V, class Input, class Mapper, class Reducer>
Output<K, V> map_reduce(const std::vector<Input>& inputs, Mapper mapper, Reducer reducer, Options options = {});

// ------------------------------------------------------------------ device ids

// The original material's device id, sha1(str(uuid4())), made reproducible: the 16
// random bytes of id `index` come from (seed, index) alone, formatted by RFC 4122 as a
// version-4 UUID ("xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx", N one of 8 9 a b), and the id
// is the lowercase hex SHA-1 of that 36-character text.
std::string uuid4_text(std::uint64_t seed, std::uint64_t index);
std::string device_id(std::uint64_t seed, std::uint64_t index);

// How many of the ids 0 .. n-1 start with each hex digit, computed on `workers` threads.
// The same for any `workers`.
std::array<std::uint64_t, 16> device_id_histogram(std::uint64_t n, unsigned workers, std::uint64_t seed);

// ------------------------------------------------------------------ on processes

// What a worker process does wrong on purpose, for tests and the lesson (like MIT 6.5840's
// crash application): on the task named `task` ("map 3", "reduce 1"), the first time it
// runs, kill itself with SIGKILL halfway, or stall for `stall` before working.
struct Fault {
    enum class Kind { none, kill, stall };
    Kind kind = Kind::none;
    std::string task;
    std::chrono::milliseconds stall{0};
};

// One task run, as the coordinator saw it.
struct TaskReport {
    std::string task;          // "map 0", "reduce 3"
    pid_t worker = 0;          // the worker process that ran it
    bool accepted = false;     // its output is the one counted (one per task)
    bool rerun = false;        // a second run of a task whose first run died or was late
    int signal = 0;            // the signal that ended the worker, if it died
    double start = 0, end = 0; // seconds since word_count started
};

struct ProcessOptions {
    unsigned workers = 2;
    unsigned partitions = 4;
    bool combiner = true;
    std::filesystem::path scratch;                   // "" = a fresh folder, removed after
    std::chrono::milliseconds task_timeout{30'000};  // a task not done by then runs again
    bool backup_tasks = false;  // when nothing is left to hand out, run in-flight tasks again
    Fault fault;
    std::vector<TaskReport>* reports = nullptr;      // where to put the task reports
};

// Counts the abstract tokens (08's tokenizer) of every valid paper in the corpus files:
// one map task per file, `partitions` reduce tasks, every task in a worker process. Map
// tasks write their partitions to intermediate files in the scratch folder; reduce tasks
// read them. Returns every (token, count), sorted by token. No child process and no
// scratch file is left when it returns or throws.
std::vector<std::pair<std::string, std::uint64_t>> word_count(const std::vector<std::filesystem::path>& files,
                                                              const ProcessOptions& options = {});

}  // namespace course::mapreduce

#include "mapreduce_threads.hpp"  // map_reduce's body (a template)
