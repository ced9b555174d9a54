#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/lesson.hpp"
#include "common/process_stats.hpp"
#include "common/progress.hpp"
#include "course_catch.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {
// Runs a lesson with the given arguments; argv[0] is added.
int run_lesson(course::Lesson& lesson, std::vector<std::string> args, const std::function<void()>& body) {
    args.insert(args.begin(), "lesson");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return lesson.run(int(argv.size()), argv.data(), body);
}
}  // namespace

TEST_CASE("a stub's exception says what is missing and what to do") {
    course::not_implemented e("map");
    std::string what = e.what();
    CHECK(what.find("not implemented yet: map") != std::string::npos);
    CHECK(what.find("./course check") != std::string::npos);
}

TEST_CASE("help prints every common option and the lesson's own, then exits 0") {
    course::Lesson lesson("99-test", "a test lesson");
    std::size_t size = 0;
    lesson.add_options()("size", po::value(&size), "elements");
    bool ran = false;
    CHECK(run_lesson(lesson, {"--help"}, [&] { ran = true; }) == 0);
    CHECK_FALSE(ran);
}

TEST_CASE("a lesson parses --quick and its own options") {
    course::Lesson lesson("99-test", "a test lesson");
    std::size_t size = 0;
    lesson.add_options()("size", po::value(&size), "elements");
    CHECK(run_lesson(lesson, {"--quick", "--size", "42"}, [] {}) == 0);
    CHECK(lesson.quick());
    CHECK(size == 42);
}

TEST_CASE("a bad option is one clear line and exit code 2") {
    course::Lesson lesson("99-test", "a test lesson");
    bool ran = false;
    CHECK(run_lesson(lesson, {"--no-such-option"}, [&] { ran = true; }) == 2);
    CHECK_FALSE(ran);
}

TEST_CASE("a stub or a failure inside the lesson exits 1, never crashes") {
    course::Lesson lesson("99-test", "a test lesson");
    CHECK(run_lesson(lesson, {}, [] { throw course::not_implemented("map"); }) == 1);
    CHECK(run_lesson(lesson, {}, [] { throw std::runtime_error("file x is corrupt"); }) == 1);
}

TEST_CASE("the json and trace files follow the documented schema") {
    course::testing::TempDir dir{"course-lesson-test"};
    auto json_path = (dir.path / "r.json").string(), trace_path = (dir.path / "t.json").string();

    course::Lesson lesson("99-test", "a test lesson");
    int code = run_lesson(lesson, {"--json", json_path, "--trace", trace_path}, [&] {
        course::ResultTable table("sleep");
        course::Recorder rec;
        { auto span = rec.span("task 0"); }
        table.add({.variant = "serial", .n = 1, .seconds = 1, .bound_seconds = 1, .bound = "reference"});
        lesson.report(table);
        lesson.timeline(rec, "sleep");
    });
    REQUIRE(code == 0);

    auto results = nlohmann::json::parse(std::ifstream(json_path));
    CHECK(results["lesson"] == "99-test");
    CHECK(results["quick"] == false);
    CHECK(results["experiments"].size() == 1);
    CHECK(results["experiments"][0]["name"] == "sleep");

    auto trace = nlohmann::json::parse(std::ifstream(trace_path));
    REQUIRE(trace["traceEvents"].size() == 1);
    for (auto key : {"name", "ph", "ts", "dur", "pid", "tid"}) CHECK(trace["traceEvents"][0].contains(key));
}

TEST_CASE("the progress bar renders its fraction and stays silent off a terminal") {
    CHECK(course::ProgressBar::render("load", 5, 10, 10) == "load [#####     ]  50 % 5/10");
    CHECK(course::ProgressBar::render("load", 0, 0, 4) == "load [####] 100 % 0/0");
    course::ProgressBar bar("load", 100);   // stderr is not a terminal under ctest
    for (int i = 0; i < 100; ++i) bar.advance();
    CHECK(bar.done() == 100);
    bar.finish();
    bar.finish();   // idempotent
}

TEST_CASE("thread counts settle after a join") {
    std::size_t before = course::live_threads_baseline();
    REQUIRE(before >= 1);
    for (int round = 0; round < 50; ++round) {
        std::thread t([] {});
        t.join();
        // A just-joined thread may linger in /proc for a moment; the settled count may not.
        CHECK(course::live_threads_at_most(before) == before);
    }
    CHECK(course::cpu_seconds() > 0.0);
    CHECK(course::live_children() == 0);
}
