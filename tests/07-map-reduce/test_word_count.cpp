// Tests of course::mapreduce::word_count: map and reduce tasks in worker processes under
// a coordinator. The witnesses: a serial count of the same files, the task reports (which
// pid ran what, which run was accepted, which worker died of which signal), the process
// table (no child left) and the scratch folder (nothing left).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/gzip_lines.hpp"
#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "loading.hpp"
#include "mapreduce.hpp"
#include "temp_dir.hpp"

using namespace course::mapreduce;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path datasets_dir = COURSE_DATASETS_DIR;
const fs::path sample_dir = datasets_dir / "samples" / "corpus";

std::vector<fs::path> sample_files() { return course::datasets::corpus_files(sample_dir); }

// The same count, one file after another in this process.
std::vector<std::pair<std::string, std::uint64_t>> serial_count(const std::vector<fs::path>& files) {
    std::map<std::string, std::uint64_t> counts;
    for (const auto& file : files) {
        course::GzipLineReader reader(file.string());
        std::string_view line;
        while (reader.next(line))
            if (auto paper = course::loading::parse_paper(line))
                for (const auto& sentence : paper->abstract_tokens)
                    for (const auto& token : sentence) ++counts[token];
    }
    return {counts.begin(), counts.end()};
}

// True when this process has no child process left (none running, none unreaped).
bool no_child_processes() { return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD; }

std::size_t files_in(const fs::path& dir) {
    if (!fs::exists(dir)) return 0;
    return std::size_t(std::distance(fs::recursive_directory_iterator(dir), fs::recursive_directory_iterator()));
}

// The reports of one task, in the order its runs started.
std::vector<TaskReport> runs_of(const std::vector<TaskReport>& reports, const std::string& task) {
    std::vector<TaskReport> runs;
    std::copy_if(reports.begin(), reports.end(), std::back_inserter(runs),
                 [&](const TaskReport& r) { return r.task == task; });
    return runs;
}

std::string describe(const std::vector<TaskReport>& reports) {
    std::string out;
    for (const auto& r : reports)
        out += "\n  " + r.task + " on pid " + std::to_string(r.worker) + (r.accepted ? " accepted" : "") +
               (r.rerun ? " rerun" : "") + (r.signal ? " died of signal " + std::to_string(r.signal) : "");
    return out;
}

}  // namespace

// Rule: "The result is every (token, count) of the valid papers' abstracts, sorted by token,
// equal to a serial count", with and without a combiner, for any number of partitions.
TEST_CASE("word_count equals a serial count of the sample corpus") {
    auto expected = serial_count(sample_files());
    REQUIRE(expected.size() > 1000);
    for (bool combiner : {true, false})
        for (unsigned partitions : {1u, 4u}) {
            INFO("combiner " << combiner << ", " << partitions << " partitions");
            CHECK(word_count(sample_files(), {.workers = 2, .partitions = partitions, .combiner = combiner}) ==
                  expected);
        }
    CHECK(no_child_processes());
}

// Rule: "Every task runs in a worker process, never in the caller; `workers` of them run
// at once." Map task 0 stalls 300 ms on its first run, so map task 1 must go to the other
// worker meanwhile.
TEST_CASE("tasks run in worker processes and two of them work at once") {
    std::vector<TaskReport> reports;
    auto counts = word_count(sample_files(), {.workers = 2, .partitions = 4,
                                              .fault = {.kind = Fault::Kind::stall, .task = "map 0", .stall = 300ms},
                                              .reports = &reports});
    INFO("task reports:" << describe(reports));
    CHECK(counts == serial_count(sample_files()));
    std::set<pid_t> pids;
    for (const auto& r : reports) {
        CHECK(r.worker != ::getpid());
        CHECK(r.worker > 0);
        pids.insert(r.worker);
    }
    CHECK(pids.size() >= 2);
    CHECK(reports.size() >= 2 + 4);  // every map and reduce task reported
}

// Rule: "A worker that dies in a task is replaced and the task runs again; the result is
// still exact." Map task 1's first run SIGKILLs its worker halfway through its output.
TEST_CASE("a worker killed in a map task is replaced and the task runs again") {
    std::vector<TaskReport> reports;
    auto counts = word_count(sample_files(), {.workers = 2, .partitions = 4,
                                              .fault = {.kind = Fault::Kind::kill, .task = "map 1"},
                                              .reports = &reports});
    INFO("task reports:" << describe(reports));
    CHECK(counts == serial_count(sample_files()));
    auto runs = runs_of(reports, "map 1");
    REQUIRE(runs.size() == 2);
    CHECK(runs[0].signal == SIGKILL);
    CHECK_FALSE(runs[0].accepted);
    CHECK(runs[1].rerun);
    CHECK(runs[1].accepted);
    CHECK(runs[1].worker != runs[0].worker);
    CHECK(no_child_processes());
}

// Rule: "A worker that dies in a task is replaced and the task runs again" for a reduce task.
TEST_CASE("a worker killed in a reduce task is replaced and the task runs again") {
    std::vector<TaskReport> reports;
    auto counts = word_count(sample_files(), {.workers = 2, .partitions = 4,
                                              .fault = {.kind = Fault::Kind::kill, .task = "reduce 2"},
                                              .reports = &reports});
    INFO("task reports:" << describe(reports));
    CHECK(counts == serial_count(sample_files()));
    auto runs = runs_of(reports, "reduce 2");
    REQUIRE(runs.size() == 2);
    CHECK(runs[0].signal == SIGKILL);
    CHECK(runs[1].accepted);
    CHECK(no_child_processes());
}

// Rule: "A task not done within `task_timeout` runs again on another worker; the first run
// to finish is the one counted, once." Map task 0 stalls 5 s; the timeout is 200 ms.
TEST_CASE("a task late past its timeout runs again elsewhere and counts once") {
    std::vector<TaskReport> reports;
    auto counts = word_count(sample_files(), {.workers = 2, .partitions = 4, .task_timeout = 200ms,
                                              .fault = {.kind = Fault::Kind::stall, .task = "map 0", .stall = 5000ms},
                                              .reports = &reports});
    INFO("task reports:" << describe(reports));
    CHECK(counts == serial_count(sample_files()));
    auto runs = runs_of(reports, "map 0");
    REQUIRE(runs.size() >= 2);
    CHECK(std::count_if(runs.begin(), runs.end(), [](auto& r) { return r.accepted; }) == 1);
    CHECK(runs[1].rerun);
    CHECK(no_child_processes());
}

// Rule: "With backup_tasks, a task still in flight when nothing is left to hand out runs a
// second time; the first to finish counts, once (no double count)."
TEST_CASE("backup tasks run a straggler twice and count it once") {
    std::vector<TaskReport> reports;
    auto counts = word_count(sample_files(), {.workers = 2, .partitions = 4, .backup_tasks = true,
                                              .fault = {.kind = Fault::Kind::stall, .task = "reduce 1", .stall = 5000ms},
                                              .reports = &reports});
    INFO("task reports:" << describe(reports));
    CHECK(counts == serial_count(sample_files()));
    auto runs = runs_of(reports, "reduce 1");
    REQUIRE(runs.size() == 2);
    CHECK(std::count_if(runs.begin(), runs.end(), [](auto& r) { return r.accepted; }) == 1);
    CHECK(runs[1].accepted);  // the backup, since the first run stalls
    CHECK(no_child_processes());
}

// Rule: "No child process and no scratch file is left when word_count returns."
TEST_CASE("nothing is left in the scratch folder and no child process remains") {
    course::testing::TempDir scratch("course-wc");
    auto counts = word_count(sample_files(), {.workers = 2, .partitions = 3, .scratch = scratch.path,
                                              .fault = {.kind = Fault::Kind::kill, .task = "map 0"}});
    CHECK_FALSE(counts.empty());
    INFO("left in the scratch folder: " << files_in(scratch.path) << " entries");
    CHECK(files_in(scratch.path) == 0);
    CHECK(no_child_processes());
}

// Rule: "A file that cannot be read is an error naming it; nothing is left behind."
TEST_CASE("a corrupt corpus file is an error naming it and nothing is left behind") {
    course::testing::TempDir scratch("course-wc");
    auto files = sample_files();
    files.push_back(datasets_dir / "broken" / "corrupt.gz");
    CHECK_THROWS_WITH(word_count(files, {.workers = 2, .scratch = scratch.path}), ContainsSubstring("corrupt.gz"));
    CHECK_THROWS_WITH(word_count({datasets_dir / "no-such.gz"}, {}), ContainsSubstring("no-such.gz"));
    CHECK(files_in(scratch.path) == 0);
    CHECK(no_child_processes());
}
