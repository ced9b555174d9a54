// The sections of lesson 08, one idea per file in this folder:
//   lesson.cpp      the picture, the options, the corpus (generated on first use)
//   stages.cpp      1. stage limits: decompress alone, parse alone, the single-core bound
//   async.cpp       the async loader: one task per file, all on one thread (Asio coroutines)
//   race.cpp        2. take(n) for every loader (nothing left behind after each early
//                   stop), the seed's table beside ours; 3. drain every loader;
//                   4. the drains' timelines
//   parsers.cpp     the parsers of --parser: dom (parse_paper), sax, simdjson
//   loaders.cpp     serial, threaded and distributed loaders taking a parser (the fast rows)
//   breakdown.cpp   where the serial loader's time goes, per paper and per stage
//   bottleneck.cpp  5. moving the bottleneck: decompression as the limit (zlib, zcat,
//                   libdeflate), and the distributed parent's cost per paper
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/gzip_lines.hpp"
#include "common/lesson.hpp"
#include "common/process_stats.hpp"
#include "loading.hpp"
#include "parsers.hpp"

namespace lesson08 {

namespace fs = std::filesystem;

struct Settings {
    fs::path dir;                       // the corpus folder
    std::vector<fs::path> files;        // its *.gz files, sorted
    std::size_t valid = 0;              // papers the manifest promises (0: no manifest)
    std::uint64_t bytes = 0;            // uncompressed bytes of all files (0: unknown yet)
    unsigned workers = 2;               // threads / processes of the parallel loaders
    std::size_t capacity = 1024;        // of every loader's channel
    std::vector<std::size_t> takes;     // the n of take(n): 1k, 10k, 100k
    std::size_t stage_files = 8;        // files the stage measurements read
    unsigned repeats = 1;               // best of N for every take and drain
    std::vector<ParserKind> parsers;    // of the loaders in the take and drain tables
};

// What section 1 measured, for the bounds of the later sections.
struct StageRates {
    double decompress = 0;   // MB/s of uncompressed text out of zlib
    double parse = 0;        // MB/s of JSON through nlohmann's DOM parser alone
    double paper = 0;        // MB/s through parse_paper (JSON + fields + tokenizer)
    double bytes_per_paper = 0;
    std::map<ParserKind, double> json;   // MB/s of each parser's JSON part alone (dom: = parse)
    // The single-core pipeline bound: every byte decompressed, then parsed, one core.
    double pipeline() const { return 1.0 / (1.0 / decompress + 1.0 / parse); }
    // The same with a parser's own JSON part.
    double stage_bound(ParserKind kind) const { return 1.0 / (1.0 / decompress + 1.0 / json.at(kind)); }
};

unsigned cores();
double self_cpu_seconds();     // CPU seconds of this process alone (every thread, no children)
double thread_cpu_seconds();   // CPU seconds of the calling thread
double megabytes(std::uint64_t bytes);

// The stage files' lines, decompressed into memory once.
std::vector<std::string> read_lines(const std::vector<fs::path>& files, std::uint64_t& bytes);

StageRates stage_limits(course::Lesson& lesson, Settings& s);
void breakdown(course::Lesson& lesson, const Settings& s, const StageRates& rates);
void race(course::Lesson& lesson, const Settings& s, const StageRates& rates);
void move_bottleneck(course::Lesson& lesson, const Settings& s, const StageRates& rates);

// The seed's @async loader: a coroutine per file, all on the one thread of the handle,
// taking turns after every line.
course::loading::LoadHandle async_channel_load(std::vector<fs::path> files, std::size_t capacity,
                                               course::Recorder* recorder = nullptr,
                                               ParseFn parse = parse_function(ParserKind::dom));

// One file, one line at a time: the loop of every loader of this lesson (the async task
// takes turns between two calls of next). A bad line or bad gzip data ends the file: next
// returns false and error() names the file and line; the papers before it were delivered.
class PaperLines {
public:
    PaperLines(const fs::path& file, ParseFn parse);   // a file that cannot be opened: error()
    // The next line: true with its paper (loaded_by = this pid), or nullopt for a record the
    // seed skips; false at the end of the file or at a problem.
    bool next(std::optional<course::loading::Paper>& paper);
    const std::optional<course::loading::LoadError>& error() const { return error_; }

private:
    fs::path file_;
    ParseFn parse_;
    long pid_;
    std::unique_ptr<course::GzipLineReader> reader_;
    std::optional<course::loading::LoadError> error_;
};

// One file's papers, in order, to on_paper (loaded_by set to this pid); a bad line or
// bad gzip data ends the file: the error, naming file and line, is returned after the
// papers before it were delivered. channel_closed from on_paper passes through.
std::optional<course::loading::LoadError> for_each_paper(const fs::path& file, ParseFn parse,
                                                         const std::function<void(course::loading::Paper&&)>& on_paper);

// The loaders of loaders.cpp: the exercise's designs, with the parser as a parameter.
course::loading::LoadHandle serial_load(std::vector<fs::path> files, std::size_t capacity,
                                        course::Recorder* recorder, ParseFn parse);
course::loading::LoadHandle threaded_load(std::vector<fs::path> files, unsigned workers, std::size_t capacity,
                                          course::Recorder* recorder, ParseFn parse);
course::loading::LoadHandle distributed_load(std::vector<fs::path> files, unsigned workers, std::size_t capacity,
                                             course::Recorder* recorder, ParseFn parse);

// Threads, child processes and CPU seconds of this process: lessons/common.
using course::cpu_seconds;
using course::live_threads;
inline std::size_t child_processes() { return course::live_children(); }

}  // namespace lesson08
