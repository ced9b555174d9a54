#include <sstream>

#include "common/results.hpp"
#include "course_catch.hpp"

using course::Measurement;
using course::ResultTable;

TEST_CASE("efficiency is bound over measured time") {
    Measurement m{.variant = "threads", .n = 100, .seconds = 2.0, .bound_seconds = 1.5};
    CHECK(m.efficiency() == Approx(0.75));
    CHECK(m.items_per_second() == Approx(50.0));
    Measurement unmeasured;
    CHECK(unmeasured.efficiency() == 0.0);
}

TEST_CASE("a results table prints every column and every row") {
    ResultTable table("reduce");
    table.add({.variant = "serial", .n = 1000, .seconds = 0.5, .bound_seconds = 0.5, .bound = "reference"});
    table.add({.variant = "threads", .n = 1000, .seconds = 0.3, .bound_seconds = 0.25,
               .bound = "serial/cores", .workers = 2, .ok = false});
    REQUIRE(table.rows().size() == 2);
    CHECK(table.rows()[1].experiment == "reduce");

    std::ostringstream out;
    table.print(out);
    auto text = out.str();
    for (auto word : {"variant", "n", "seconds", "bound", "efficiency", "workers", "serial/cores",
                      "100 %", "83 %", "WRONG RESULT"})
        CHECK(text.find(word) != std::string::npos);
}

TEST_CASE("the --json document follows the documented schema") {
    Measurement m{.experiment = "take", .variant = "distributed", .n = 100000, .seconds = 2.0,
                  .bound_seconds = 1.7, .bound = "serial/cores", .workers = 2};
    m.extra["mb_per_second"] = 12.5;
    auto doc = course::results_json("08-distributed-loading", true, {m});
    CHECK(doc["lesson"] == "08-distributed-loading");
    CHECK(doc["quick"] == true);
    CHECK(doc["machine"]["cores"].get<unsigned>() >= 1);
    CHECK(doc["machine"]["compiler"].get<std::string>().size() > 3);
    auto& e = doc["experiments"].at(0);
    CHECK(e["name"] == "take");
    CHECK(e["variant"] == "distributed");
    CHECK(e["n"] == 100000);
    CHECK(e["workers"] == 2);
    CHECK(e["seconds"] == 2.0);
    CHECK(e["bound_seconds"] == 1.7);
    CHECK(e["bound"] == "serial/cores");
    CHECK(e["items_per_second"] == 50000.0);
    CHECK(e["ok"] == true);
    CHECK(e["mb_per_second"] == 12.5);
}

TEST_CASE("seconds and percentages are formatted for people") {
    CHECK(course::format_seconds(0.012345) == "0.0123");
    CHECK(course::format_seconds(12.345) == "12.35");
    CHECK(course::format_seconds(0.0000123) == "0.000012");
    CHECK(course::format_percent(0.874) == "87 %");
}

TEST_CASE("format_thousands puts a comma before every group of three digits") {
    CHECK(course::format_thousands(0) == "0");
    CHECK(course::format_thousands(999) == "999");
    CHECK(course::format_thousands(1000) == "1,000");
    CHECK(course::format_thousands(12000000) == "12,000,000");
}
