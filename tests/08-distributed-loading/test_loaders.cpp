// Tests of the three loaders. "Nothing lost, nothing twice" is a multiset comparison
// with the serial loader; "nothing left behind" is counted in /proc/self/task and
// asked of waitpid; "really other processes" is the pid each paper carries.
// Each case names the README rule it guards ("Rule: ..."); solutions/08-distributed-loading/
// mutants/ holds, per rule, a wrong version that the named case must catch.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "loading.hpp"
#include "paper_printing.hpp"
#include "temp_dir.hpp"

#ifndef COURSE_DATASETS_DIR
#error "COURSE_DATASETS_DIR must name the datasets folder (set by the top-level CMakeLists.txt)"
#endif

namespace fs = std::filesystem;
using namespace course::loading;

namespace {

const fs::path datasets_dir = COURSE_DATASETS_DIR;
const fs::path sample_dir = datasets_dir / "samples" / "corpus";
const fs::path broken_dir = datasets_dir / "broken";

std::vector<fs::path> sample_files() { return course::datasets::corpus_files(sample_dir); }

// Pops until the channel ends; the errors are complete then.
std::vector<Paper> drain(LoadHandle& handle) {
    std::vector<Paper> papers;
    for (auto& paper : handle.channel()) papers.push_back(std::move(paper));
    return papers;
}

std::vector<Paper> sorted(std::vector<Paper> papers) {
    std::sort(papers.begin(), papers.end());
    return papers;
}

// "" when got and expected hold the same papers as multisets; otherwise what differs.
std::string multiset_difference(const std::vector<Paper>& got, const std::vector<Paper>& expected) {
    auto g = sorted(got), e = sorted(expected);
    std::vector<Paper> missing, extra;
    std::set_difference(e.begin(), e.end(), g.begin(), g.end(), std::back_inserter(missing));
    std::set_difference(g.begin(), g.end(), e.begin(), e.end(), std::back_inserter(extra));
    if (missing.empty() && extra.empty()) return "";
    std::string out = std::to_string(missing.size()) + " papers missing, " + std::to_string(extra.size()) +
                      " papers too many (delivered twice?)";
    if (!missing.empty()) out += "; first missing: " + Catch::Detail::stringify(missing.front());
    if (!extra.empty()) out += "; first too many: " + Catch::Detail::stringify(extra.front());
    return out;
}

struct Loader {
    std::string name;
    std::function<LoadHandle(std::vector<fs::path>)> start;
};

std::vector<Loader> parallel_loaders(unsigned workers, std::size_t capacity) {
    return {
        {"threaded, " + std::to_string(workers) + " threads, capacity " + std::to_string(capacity),
         [=](auto files) { return threaded_channel_load(std::move(files), {.workers = workers, .capacity = capacity}); }},
        {"distributed, " + std::to_string(workers) + " processes, capacity " + std::to_string(capacity),
         [=](auto files) {
             return distributed_channel_load(std::move(files), {.workers = workers, .capacity = capacity});
         }},
    };
}

std::vector<Loader> all_loaders() {
    auto loaders = parallel_loaders(2, 16);
    loaders.insert(loaders.begin(), {"serial", [](auto files) { return serial_channel_load(std::move(files), 16); }});
    return loaders;
}

std::size_t live_threads() {
    return std::size_t(std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator()));
}

// A joined thread leaves /proc/self/task a moment after join() returns (the kernel
// wakes the joiner before it has removed the task): look again, for up to 20 s (a bound
// for a busy machine, never reached when the threads were joined).
bool threads_back_to(std::size_t baseline) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (live_threads() > baseline) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

// True if pid is a child of this process that has not ended (running or sleeping, not a
// zombie): read from /proc/<pid>/stat, "pid (name) state ppid ...".
bool running_child(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto name_end = stat.rfind(')');
    if (name_end == std::string::npos) return false;
    std::istringstream rest(stat.substr(name_end + 1));
    char state = '?';
    long ppid = -1;
    rest >> state >> ppid;
    return ppid == long(::getpid()) && state != 'Z' && state != 'X';
}

// Two files no producer can load ahead of its consumer: 40 papers each, every title
// 512 KB long, 20 MB per file. The channel (16 papers in these tests), a socket or pipe
// buffer (at most a few MB) and a read buffer together hold far fewer than 40 such
// papers, so until the consumer has taken more than a handful, no producer can have
// finished its file. Written once per test program.
std::vector<fs::path> heavy_files() {
    static course::testing::TempDir dir("course-08-heavy");
    static const std::vector<fs::path> files = [] {
        const auto lines = course::datasets::generate_papers(80, 8);
        std::string padding;
        while (padding.size() < 512 * 1024) padding += " a title too long to be buffered";
        std::vector<fs::path> written;
        for (std::size_t f = 0; f < 2; ++f) {
            std::string text;
            for (std::size_t i = 0; i < 40; ++i) {
                auto doc = nlohmann::json::parse(lines[f * 40 + i]);
                doc["title"] = doc["title"].get<std::string>() + padding;
                text += doc.dump() + "\n";
            }
            written.push_back(dir.path / ("heavy-" + std::to_string(f) + ".gz"));
            std::ofstream(written.back(), std::ios::binary) << course::datasets::gzip_bytes(text, 1);
        }
        return written;
    }();
    return files;
}

// True if this process has no child at all, running or zombie.
bool no_child_processes() {
    int status;
    return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

// What the gzip reader delivers of a fixture before its error.
std::size_t readable_lines(const fs::path& file) {
    std::size_t lines = 0;
    try {
        course::for_each_line(file.string(), [&](std::string_view) { ++lines; });
    } catch (const course::gzip_error&) {
    }
    return lines;
}

// A broken fixture, what each loader must report, and how many of its papers arrive.
struct Fixture {
    std::string name;
    bool error;                  // must errors() name it?
    std::size_t line;            // the error's line (0: any)
    std::string says;            // a phrase the message contains
    std::size_t papers;          // papers of this file delivered
};

std::vector<Fixture> fixtures() {
    return {
        {"truncated.gz", true, 0, "truncated.gz", readable_lines(broken_dir / "truncated.gz")},
        {"corrupt.gz", true, 0, "corrupt gzip data", readable_lines(broken_dir / "corrupt.gz")},
        {"malformed-json.gz", true, 8, "malformed JSON", 7},
        {"wrong-types.gz", true, 5, "year", 4},
        {"not-gzip.gz", true, 0, "not-gzip.gz", 0},
        {"empty.gz", false, 0, "", 0},
        {"concatenated.gz", false, 0, "", 60},
    };
}

}  // namespace

// Rule: Nothing lost, nothing twice (serial: one producer, the files in order), and
// load_paper_data pushes one file's papers in order with loaded_by = getpid().
TEST_CASE("the serial loader delivers every valid paper of the sample corpus in file order") {
    auto manifest = course::datasets::read_manifest(sample_dir);
    auto handle = serial_channel_load(sample_files(), 8);
    auto papers = drain(handle);
    REQUIRE(papers.size() == manifest.valid());
    CHECK(handle.errors().empty());
    for (auto& p : papers) CHECK(p.loaded_by == long(::getpid()));

    // File order: the first file's papers come first, as load_paper_data reads them.
    Channel<Paper> first_file(1024);
    std::size_t n = load_paper_data(first_file, sample_files().front());
    first_file.close();
    REQUIRE(n == manifest.files.front().valid);
    for (std::size_t i = 0; i < n; ++i) CHECK(*first_file.pop() == papers[i]);
}

// Rule: Nothing lost, nothing twice: every loader delivers the serial loader's multiset.
TEST_CASE("the threaded and distributed loaders deliver the serial multiset") {
    auto files = sample_files();
    auto expected = [&] {
        auto h = serial_channel_load(files);
        return sorted(drain(h));
    }();
    REQUIRE(expected.size() == course::datasets::read_manifest(sample_dir).valid());
    for (unsigned workers : {1u, 2u, 3u})
        for (std::size_t capacity : {std::size_t(1), std::size_t(1024)})
            for (auto& loader : parallel_loaders(workers, capacity)) {
                INFO(loader.name);
                auto handle = loader.start(files);
                auto got = sorted(drain(handle));
                CHECK(handle.errors().empty());
                REQUIRE(got.size() == expected.size());
                CHECK(multiset_difference(got, expected) == "");
            }
}

// Rule: Close once, after the last producer (here: there is none).
TEST_CASE("every loader closes its channel at once on an empty file list") {
    for (auto& loader : all_loaders()) {
        INFO(loader.name);
        auto handle = loader.start({});
        CHECK(drain(handle).empty());
        CHECK(handle.errors().empty());
    }
}

// Rule: Really other processes: papers carry the worker's pid; and no child is left.
TEST_CASE("the distributed loader parses in other processes and reaps them") {
    auto handle = distributed_channel_load(sample_files(), {.workers = 2, .capacity = 64});
    auto papers = drain(handle);
    REQUIRE(papers.size() == course::datasets::read_manifest(sample_dir).valid());
    std::set<long> pids;
    for (auto& p : papers) pids.insert(p.loaded_by);
    CHECK(pids.count(long(::getpid())) == 0);
    CHECK(pids.count(0) == 0);
    CHECK(pids.size() >= 1);
    CHECK(pids.size() <= 2);
    handle.close();
    CHECK(no_child_processes());
}

// Rule: Bad files are reported, good files still load: the failing file is in the
// ErrorLog with its file and line, and the loader goes on with the next file (also
// with one producer thread or one worker process, which must not stop at the bad file).
TEST_CASE("each broken fixture is reported by every loader while every good paper arrives") {
    auto good = sample_files();
    const std::size_t good_papers = course::datasets::read_manifest(sample_dir).valid();
    auto loaders = all_loaders();
    for (auto& one : parallel_loaders(1, 16)) loaders.push_back(one);
    for (auto& fixture : fixtures()) {
        const fs::path bad = broken_dir / fixture.name;
        const std::vector<fs::path> files = {good[0], bad, good[1]};
        std::vector<Paper> expected;
        for (auto& loader : loaders) {
            INFO(fixture.name << " with " << loader.name);
            auto handle = loader.start(files);
            auto papers = sorted(drain(handle));
            auto errors = handle.errors();
            CHECK(papers.size() == good_papers + fixture.papers);
            if (expected.empty()) expected = papers;   // the serial loader's, first
            CHECK(multiset_difference(papers, expected) == "");
            if (!fixture.error) {
                CHECK(errors.empty());
                continue;
            }
            INFO("errors: " << Catch::Detail::stringify(errors));
    REQUIRE(errors.size() == 1);
            CHECK(errors[0].file == bad.string());
            CHECK_FALSE(errors[0].recovered);
            CHECK_THAT(errors[0].message, ContainsSubstring(fixture.name));
            CHECK_THAT(errors[0].message, ContainsSubstring(fixture.says));
            if (fixture.line) CHECK(errors[0].line == fixture.line);
        }
    }
}

// Rule: load_paper_data throws load_error (file and line) after pushing the good papers
// before the bad spot.
TEST_CASE("load_paper_data throws load_error naming the file and line after the good papers") {
    Channel<Paper> out(1024);
    const fs::path bad = broken_dir / "malformed-json.gz";
    try {
        load_paper_data(out, bad);
        FAIL("no load_error for " << bad);
    } catch (const load_error& e) {
        CHECK(e.file() == bad.string());
        CHECK(e.line() == 8);
        CHECK_THAT(e.what(), ContainsSubstring("malformed-json.gz"));
    }
    out.close();
    std::size_t delivered = 0;
    while (out.pop()) ++delivered;
    CHECK(delivered == 7);
}

// Rule: Nothing left behind: take(handle.channel(), n) then handle.close() leaves no
// producer thread and no child process.
TEST_CASE("take then close leaves no producer thread and no worker process") {
    const auto files = heavy_files();
    {   // Warm up: whatever the runtime starts once (sanitizer helpers) is in the baseline.
        auto h = serial_channel_load(sample_files());
        drain(h);
    }
    REQUIRE(no_child_processes());
    const std::size_t baseline = live_threads();
    for (auto& loader : all_loaders()) {
        INFO(loader.name);
        {
            auto handle = loader.start(files);
            // What close() must clean up, witnessed while the channel is still open (pop;
            // take() closes it): each file holds 40 papers of 512 KB, more than the channel,
            // the socket or pipe and the read buffers can hold, so no producer can have
            // finished its file yet. Its threads are running, and the worker that parsed
            // the first paper is a live child, blocked sending the rest of its file, until
            // close() ends it. No timing involved: they cannot be gone before close().
            auto first = handle.channel().pop();
            REQUIRE(first.has_value());
            CHECK(live_threads() > baseline);   // the producers are there
            if (first->loaded_by != long(::getpid())) {
                INFO("worker pid " << first->loaded_by << " is not a running child of this process,"
                     " yet it cannot have sent all of its file");
                CHECK(running_child(first->loaded_by));
            }
            auto more = take(handle.channel(), 4);
            CHECK(more.size() == 4u);
            handle.close();
        }
        INFO("after close(): every producer thread joined, every worker process reaped?");
        CHECK(threads_back_to(baseline));
        CHECK(no_child_processes());
    }
}

// Rule: Close once, after the last producer: a file (or producer) that is done first
// must not close the channel while another file's papers are still to come.
TEST_CASE("the channel stays open until the last file is done") {
    const auto manifest = course::datasets::read_manifest(sample_dir);
    // empty.gz has no papers and no error: its producer is done at once.
    const std::vector<fs::path> files{broken_dir / "empty.gz", sample_files().front()};
    auto loaders = all_loaders();
    for (auto& rendezvous : parallel_loaders(2, 1)) loaders.push_back(rendezvous);
    for (auto& loader : loaders) {
        INFO(loader.name);
        auto handle = loader.start(files);
        // The second file's papers wait for this consumer: the load cannot be over. A
        // loader that closes when its first file or producer is done closes meanwhile.
        auto first = handle.channel().pop();
        bool closed_early = !first.has_value();
        const auto look_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        while (!closed_early && std::chrono::steady_clock::now() < look_until) {
            closed_early = handle.channel().closed();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        auto rest = drain(handle);
        {
            INFO("the channel was closed while the second file still had papers to deliver");
            CHECK_FALSE(closed_early);
        }
        CHECK(rest.size() + (first ? 1 : 0) == manifest.files.front().valid);
        CHECK(handle.errors().empty());
    }
}

// Rule: A killed worker: its file is reloaded once on a fresh worker, resuming after the
// papers already delivered (nothing lost, nothing twice); one LoadError, recovered,
// naming the signal and the papers delivered.
TEST_CASE("a distributed worker killed mid-file is replaced and its file resumes where it stopped") {
    auto files = sample_files();
    auto expected = [&] {
        auto h = serial_channel_load(files);
        return sorted(drain(h));
    }();
    // The first worker started sends 50 papers, half of one more, then SIGKILLs itself.
    auto handle = distributed_channel_load(files, {.workers = 2, .capacity = 16, .crash_after_papers = 50});
    auto got = sorted(drain(handle));
    auto errors = handle.errors();
    REQUIRE(got.size() == expected.size());
    CHECK(multiset_difference(got, expected) == "");
    INFO("errors: " << Catch::Detail::stringify(errors));
    REQUIRE(errors.size() == 1);
    INFO(errors[0].message);
    CHECK(errors[0].recovered);
    CHECK((errors[0].file == files[0].string() || errors[0].file == files[1].string()));
    CHECK_THAT(errors[0].message, ContainsSubstring("signal 9"));
    CHECK_THAT(errors[0].message, ContainsSubstring("after 50"));
    handle.close();
    CHECK(no_child_processes());
}

// Rule: A killed worker: only its file is reloaded, and every other file still loads
// (a worker's crash loses nothing of the files after it).
TEST_CASE("after a worker is killed the files it had not reached still load") {
    auto files = sample_files();
    const auto once = files;
    files.insert(files.end(), once.begin(), once.end());   // four files for one worker
    auto expected = [&] {
        auto h = serial_channel_load(files);
        return sorted(drain(h));
    }();
    // One worker at a time: the first dies in file 0 after 50 papers; its replacement
    // must finish file 0 and then load files 1, 2 and 3.
    auto handle = distributed_channel_load(files, {.workers = 1, .capacity = 16, .crash_after_papers = 50});
    auto got = sorted(drain(handle));
    auto errors = handle.errors();
    CHECK(got.size() == expected.size());
    CHECK(multiset_difference(got, expected) == "");
    INFO("errors: " << Catch::Detail::stringify(errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].recovered);
    CHECK(errors[0].file == files[0].string());
    handle.close();
    CHECK(no_child_processes());
}

// Rule: A killed worker: if the fresh worker dies too, the file is reported failed
// (recovered = false, "giving up") and what was delivered stays delivered.
TEST_CASE("a file whose worker dies twice is reported failed with only the papers delivered before") {
    const fs::path file = sample_files().front();
    std::vector<Paper> in_order;
    {
        auto h = serial_channel_load({file});
        in_order = drain(h);
    }
    REQUIRE(in_order.size() > 80);
    // Every worker dies after 40 papers: the first at paper 40, the replacement
    // (resuming after 40) at paper 80; then the loader gives up on the file.
    auto handle = distributed_channel_load({file}, {.workers = 1, .capacity = 16, .crash_after_papers = 40,
                                                    .crash_workers = 100});
    auto got = drain(handle);
    auto errors = handle.errors();
    REQUIRE(got.size() == 80);
    bool prefix = std::equal(got.begin(), got.end(), in_order.begin());
    CHECK(prefix);
    INFO("errors: " << Catch::Detail::stringify(errors));
    REQUIRE(errors.size() == 1);
    INFO(errors[0].message);
    CHECK_FALSE(errors[0].recovered);
    CHECK(errors[0].file == file.string());
    CHECK_THAT(errors[0].message, ContainsSubstring("giving up"));
    handle.close();
    CHECK(no_child_processes());
}
