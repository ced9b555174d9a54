// What the sections of lesson 07 share: its settings, the figures one section hands to
// the next, and the small tools they build on: a SHA-1 context, forked workers that send
// their results back over pipes, the serial word count every parallel one is checked
// against, and timelines drawn from the coordinator's task reports.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "common/gzip_lines.hpp"
#include "common/lesson.hpp"
#include "loading.hpp"     // 08's parse_paper: the same papers, the same tokens
#include "mapreduce.hpp"   // the topic's API: map_reduce, device_id_histogram, word_count

namespace lesson07 {

namespace fs = std::filesystem;
namespace mr = course::mapreduce;
using course::Clock;

using Histogram = std::array<std::uint64_t, 16>;                        // ids by first hex digit
using Counts = std::unordered_map<std::string, std::uint64_t>;           // word -> count
using WordCounts = std::vector<std::pair<std::string, std::uint64_t>>;   // the same, sorted by word

// ---------------------------------------------------------------- settings

// What one section measured that a later one uses.
struct Figures {
    double sha1_per_hash = 0;        // section 1: seconds per SHA-1 of 36 bytes, one core
    double uuid_per_id = 0;          // seconds per uuid4_text, one core
    double ids_threads_seconds = 0;  // the largest N on `workers` threads, and its counts
    Histogram ids_threads_counts{};
    double serial_word_count = 0;    // section 2: the serial reference count, seconds
    std::uint64_t tokens = 0;        // tokens in the corpus (pairs a map emits without a combiner)
    std::uint64_t combined_pairs = 0, combined_bytes = 0;   // what crosses the shuffle with a combiner
    double processes_seconds = 0;    // section 4: word_count on `workers` processes, no failure
};

struct Settings {
    std::vector<std::uint64_t> ids;  // --ids: the N of section 1 (the largest also in section 6)
    unsigned workers = 2;            // --workers: threads or worker processes
    unsigned partitions = 4;         // --partitions: R, the reduce tasks
    std::string data;                // --data: a folder of *.gz JSON-lines files
    bool quick = false;
    unsigned cores = 1;
    std::uint64_t seed = 2021;       // device ids: the same ids on every run and worker count

    fs::path corpus_dir;
    std::vector<fs::path> files;     // one map task each
    std::uint64_t corpus_bytes = 0;  // uncompressed JSON text (measured by the serial count)
    Counts reference;                // the serial count: what every parallel count must equal
    WordCounts reference_sorted;
    Figures figures;
    std::vector<std::string> wrong;  // every result that differed from the serial one

    // How many of `w` workers can run at the same moment.
    unsigned busy(unsigned w) const { return std::max(1u, std::min(w, cores)); }
    // A result that differed: shown at once in its table (WRONG RESULT), listed at the end.
    void wrong_result(const std::string& what) { wrong.push_back(what); }
};

// ---------------------------------------------------------------- SHA-1 and device ids

// SHA-1 with OpenSSL's EVP API. With fetch_once (the right way for many small inputs) the
// digest is fetched once (EVP_MD_fetch) and one context serves every hash. Without it,
// every hash starts from EVP_sha1(): in OpenSSL 3 that is a legacy handle, and each
// EVP_DigestInit_ex with it fetches the implementation again (a lookup under a lock,
// reference counts on shared memory): the trap that section 1 measures.
class Sha1 {
public:
    explicit Sha1(bool fetch_once = true);
    ~Sha1();
    Sha1(const Sha1&) = delete;
    Sha1& operator=(const Sha1&) = delete;
    void digest(const char* data, std::size_t size, unsigned char out[20]);

private:
    EVP_MD* fetched_ = nullptr;
    EVP_MD_CTX* ctx_ = nullptr;
};

// The ids begin .. end-1 counted by first hex digit, here, one id after another:
// mr::uuid4_text(seed, i), then Sha1. The same ids as mr::device_id_histogram's.
Histogram count_ids(std::uint64_t seed, std::uint64_t begin, std::uint64_t end);

// ---------------------------------------------------------------- forked workers

// What one forked worker sent back, and when it ran (steady_clock is CLOCK_MONOTONIC,
// one clock for every process on the machine, so a child's times line up with ours).
struct ChildResult {
    long pid = 0;
    std::string payload;
    Clock::time_point start, end;
};

// Forks `workers` child processes; child w runs job(w) and sends the returned bytes back
// over its own pipe, then exits (_exit: no atexit handlers, no stdio flush in the child).
// The parent reads every pipe at once (poll), so no child blocks on a full pipe, then
// reaps every child. A child that throws, exits non-zero or dies by a signal makes this
// throw naming it; so does a child still running after `limit` (it is killed first). No
// child outlives this call, whatever happens. Call it with no other threads running.
std::vector<ChildResult> run_children(unsigned workers, const std::function<std::string(unsigned)>& job,
                                      std::chrono::milliseconds limit);

// ---------------------------------------------------------------- the word count

// Calls on_token(token) for every abstract token of every valid paper of one corpus file
// (08's parse_paper and tokenizer); returns the uncompressed bytes read. A bad file or
// line throws naming the file and line.
template <class OnToken>
std::uint64_t for_each_token(const fs::path& file, OnToken&& on_token) {
    course::GzipLineReader reader(file.string());
    std::string_view line;
    while (reader.next(line)) {
        std::optional<course::loading::Paper> paper;
        try {
            paper = course::loading::parse_paper(line);
        } catch (const std::exception& e) {
            throw std::runtime_error(file.string() + ", line " + std::to_string(reader.line_number()) + ": " +
                                     e.what());
        }
        if (!paper) continue;
        for (const auto& sentence : paper->abstract_tokens)
            for (const auto& token : sentence) on_token(token);
    }
    return reader.bytes_out();
}

WordCounts sorted(const Counts& counts);
// "" when got equals expected; else the first word that differs, with both counts.
std::string first_difference(const WordCounts& expected, const WordCounts& got);
// The k most frequent words, most frequent first (ties by word).
WordCounts top_words(const Counts& counts, std::size_t k);
// One (word, count) record as the intermediate files store it: length, bytes, count.
inline std::uint64_t record_bytes(const std::string& word) { return 4 + word.size() + 8; }

// ---------------------------------------------------------------- timelines

// Draws the coordinator's task reports on `rec`: one lane per worker process ("worker
// <pid>"), each task run named "map 3", "map 3 (killed by SIGKILL)", "map 3 (re-run,
// counted)", "map 3 (backup, not counted)". `origin` is when word_count was called.
void record_reports(course::Recorder& rec, const std::vector<mr::TaskReport>& reports, Clock::time_point origin);
// One line about a report: "map 3 on worker 4242: 0.41 .. 0.45 s, killed by SIGKILL".
std::string describe(const mr::TaskReport& report);
// The character the printed timeline draws reports[i] with: print_timeline marks tasks
// 0-9, a-z, A-Z in the order they start, cycling.
char timeline_mark(const std::vector<mr::TaskReport>& reports, std::size_t i);

// ---------------------------------------------------------------- numbers

// Amdahl's law: the speedup on n workers when a fraction f of the one-worker time is
// serial. fit_serial_fraction finds the f that best explains measured (w, T(w)) pairs
// (least squares on T(w) / T(1) = f + (1 - f) / w), clamped to 0 .. 1.
double amdahl_speedup(double f, double n);
double fit_serial_fraction(const std::vector<std::pair<unsigned, double>>& times);

std::string thousands(std::uint64_t n);   // 12000000 -> "12,000,000"
std::string human(double seconds);        // "1.24 s", "12.3 ms", "4.5 us"
std::string times_x(double ratio);        // 2.04 -> "2.0x"
std::string load_average();               // the 1-minute load average, "1.23" ("?" without /proc)
std::string megabytes(std::uint64_t bytes);   // "8.1 MB"

// ---------------------------------------------------------------- the sections

void device_ids_section(course::Lesson& lesson, Settings& s);    // 1
void shuffle_section(course::Lesson& lesson, Settings& s);       // 2
void stages_section(course::Lesson& lesson, Settings& s);        // 3
void scaling_section(course::Lesson& lesson, Settings& s);       // 4
void failures_section(course::Lesson& lesson, Settings& s);      // 5
void spark_section(course::Lesson& lesson, Settings& s);         // 6

}  // namespace lesson07
