#include <latch>
#include <sstream>
#include <thread>

#include "common/timeline.hpp"
#include "course_catch.hpp"

using course::Clock;
using course::Recorder;
using namespace std::chrono_literals;

TEST_CASE("each thread gets its own lane, in order of first appearance") {
    Recorder rec;
    auto t0 = Clock::now();
    rec.record("main task", t0, t0 + 10ms);
    std::thread other([&] { rec.record("other task", t0 + 5ms, t0 + 20ms); });
    other.join();
    rec.record("main again", t0 + 10ms, t0 + 20ms);

    auto events = rec.events();
    REQUIRE(events.size() == 3);
    CHECK(events[0].lane == "thread 1");
    CHECK(events[1].lane == "thread 2");
    CHECK(events[2].lane == "thread 1");
    CHECK(events[0].tid != events[1].tid);
    CHECK(rec.lanes() == 2);
}

TEST_CASE("the recorder is safe to use from many threads at once") {
    Recorder rec;
    constexpr int threads = 8, tasks = 200;
    std::latch start(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            start.arrive_and_wait();   // all threads record at the same time
            for (int i = 0; i < tasks; ++i) auto span = rec.span("task");
        });
    for (auto& t : pool) t.join();
    CHECK(rec.events().size() == threads * tasks);
    CHECK(rec.lanes() == threads);
}

TEST_CASE("the ASCII timeline draws one row per lane, tasks left to right") {
    Recorder rec;
    auto t0 = Clock::now();
    rec.record_on("process 1", "a", t0, t0 + 50ms, 111);
    rec.record_on("process 2", "b", t0 + 50ms, t0 + 100ms, 222);
    std::ostringstream out;
    course::print_timeline(out, rec, 20);
    auto text = out.str();
    CHECK(text.find("timeline 0 .. 0.100 s") != std::string::npos);
    CHECK(text.find("process 1 |0000000000          |") != std::string::npos);
    CHECK(text.find("process 2 |          1111111111|") != std::string::npos);
}

TEST_CASE("an empty recorder prints nothing") {
    Recorder rec;
    std::ostringstream out;
    course::print_timeline(out, rec);
    CHECK(out.str().empty());
}

TEST_CASE("trace events carry name, ph, ts, dur, pid and tid") {
    Recorder rec;
    auto t0 = Clock::now();
    rec.record_on("process 7", "load file 3", t0 + 2ms, t0 + 5ms, 4242);
    auto events = course::trace_events(rec, t0, "take");
    REQUIRE(events.size() == 1);
    auto& e = events[0];
    CHECK(e["name"] == "load file 3");
    CHECK(e["cat"] == "take");
    CHECK(e["ph"] == "X");
    CHECK(e["ts"].get<double>() == Approx(2000.0));
    CHECK(e["dur"].get<double>() == Approx(3000.0));
    CHECK(e["pid"] == 4242);
    CHECK(e["tid"] == 1);
}
