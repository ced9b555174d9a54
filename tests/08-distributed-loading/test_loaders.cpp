// Tests of the three loaders. "Nothing lost, nothing twice" is a multiset comparison
// with the serial loader; "nothing left behind" is counted in /proc/self/task and
// asked of waitpid; "really other processes" is the pid each paper carries.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/gzip_lines.hpp"
#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "loading.hpp"

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
// wakes the joiner before it has removed the task): look again for up to 5 s.
bool threads_back_to(std::size_t baseline) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (live_threads() > baseline) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::yield();
    }
    return true;
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
                bool same = got == expected;
                CHECK(same);
            }
}

TEST_CASE("every loader closes its channel at once on an empty file list") {
    for (auto& loader : all_loaders()) {
        INFO(loader.name);
        auto handle = loader.start({});
        CHECK(drain(handle).empty());
        CHECK(handle.errors().empty());
    }
}

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

TEST_CASE("each broken fixture is reported by every loader while every good paper arrives") {
    auto good = sample_files();
    const std::size_t good_papers = course::datasets::read_manifest(sample_dir).valid();
    for (auto& fixture : fixtures()) {
        const fs::path bad = broken_dir / fixture.name;
        const std::vector<fs::path> files = {good[0], bad, good[1]};
        std::vector<Paper> expected;
        for (auto& loader : all_loaders()) {
            INFO(fixture.name << " with " << loader.name);
            auto handle = loader.start(files);
            auto papers = sorted(drain(handle));
            auto errors = handle.errors();
            CHECK(papers.size() == good_papers + fixture.papers);
            if (expected.empty()) expected = papers;   // the serial loader's, first
            bool same = papers == expected;
            CHECK(same);
            if (!fixture.error) {
                CHECK(errors.empty());
                continue;
            }
            REQUIRE(errors.size() == 1);
            CHECK(errors[0].file == bad.string());
            CHECK_FALSE(errors[0].recovered);
            INFO(errors[0].message);
            CHECK(errors[0].message.find(fixture.name) != std::string::npos);
            CHECK(errors[0].message.find(fixture.says) != std::string::npos);
            if (fixture.line) CHECK(errors[0].line == fixture.line);
        }
    }
}

TEST_CASE("load_paper_data throws load_error naming the file and line after the good papers") {
    Channel<Paper> out(1024);
    const fs::path bad = broken_dir / "malformed-json.gz";
    try {
        load_paper_data(out, bad);
        FAIL("no load_error for " << bad);
    } catch (const load_error& e) {
        CHECK(e.file() == bad.string());
        CHECK(e.line() == 8);
        CHECK(std::string(e.what()).find("malformed-json.gz") != std::string::npos);
    }
    out.close();
    std::size_t delivered = 0;
    while (out.pop()) ++delivered;
    CHECK(delivered == 7);
}

TEST_CASE("take then close leaves no producer thread and no worker process") {
    {   // Warm up: whatever the runtime starts once (sanitizer helpers) is in the baseline.
        auto h = serial_channel_load(sample_files());
        drain(h);
    }
    REQUIRE(no_child_processes());
    const std::size_t baseline = live_threads();
    for (auto& loader : all_loaders()) {
        INFO(loader.name);
        auto files = sample_files();
        files.insert(files.end(), files.begin(), files.end());   // more than the workers eat at once
        std::set<long> pids;
        {
            auto handle = loader.start(files);
            auto first = take(handle.channel(), 5);
            REQUIRE(first.size() == 5);
            CHECK(live_threads() > baseline);          // the producers were there
            for (auto& p : first) pids.insert(p.loaded_by);
            for (long pid : pids)
                if (pid != long(::getpid())) CHECK(::kill(pid_t(pid), 0) == 0);   // a live worker
            handle.close();
        }
        CHECK(threads_back_to(baseline));
        CHECK(no_child_processes());
    }
}

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
    bool same = got == expected;
    CHECK(same);
    REQUIRE(errors.size() == 1);
    INFO(errors[0].message);
    CHECK(errors[0].recovered);
    CHECK((errors[0].file == files[0].string() || errors[0].file == files[1].string()));
    CHECK(errors[0].message.find("signal 9") != std::string::npos);
    CHECK(errors[0].message.find("after 50") != std::string::npos);
    handle.close();
    CHECK(no_child_processes());
}

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
    REQUIRE(errors.size() == 1);
    INFO(errors[0].message);
    CHECK_FALSE(errors[0].recovered);
    CHECK(errors[0].file == file.string());
    CHECK(errors[0].message.find("giving up") != std::string::npos);
    handle.close();
    CHECK(no_child_processes());
}
