// GzipLineReader: lines split right whatever the buffer size, any line length, the
// last line without '\n', concatenated members, and every broken fixture of
// datasets/broken giving its documented error after delivering the good lines.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "course_catch.hpp"
#include "temp_dir.hpp"
#include "datasets/broken.hpp"
#include "datasets/corpus.hpp"

namespace fs = std::filesystem;
using course::GzipLineReader;
using course::gzip_error;
using course::datasets::gzip_bytes;

using course::testing::TempDir;

namespace {

const fs::path broken_dir = fs::path(COURSE_SOURCE_DIR) / "datasets" / "broken";


std::string write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return path.string();
}

std::vector<std::string> read_all(const std::string& path, std::size_t buffer = std::size_t(1) << 20) {
    GzipLineReader reader(path, buffer);
    std::vector<std::string> lines;
    std::string_view line;
    while (reader.next(line)) lines.emplace_back(line);
    return lines;
}

std::string join(const std::vector<std::string>& lines) {
    std::string text;
    for (auto& line : lines) text += line + '\n';
    return text;
}

// Reads a fixture to its end; returns the lines delivered and the error it ended with.
struct Outcome {
    std::vector<std::string> lines;
    bool threw = false;
    std::string what;
    std::string path;
    std::size_t line = 0;
};

Outcome read_fixture(const std::string& name) {
    Outcome outcome;
    try {
        GzipLineReader reader((broken_dir / name).string());
        std::string_view line;
        while (reader.next(line)) outcome.lines.emplace_back(line);
    } catch (const gzip_error& e) {
        outcome.threw = true;
        outcome.what = e.what();
        outcome.path = e.path();
        outcome.line = e.line();
    }
    return outcome;
}

const std::vector<std::string>& fixture_papers() {
    static const auto papers = course::datasets::generate_papers(60, course::datasets::broken_fixture_seed);
    return papers;
}

}  // namespace

TEST_CASE("lines are split right across buffer boundaries for every buffer size") {
    TempDir dir{"course-gzip-test"};
    std::vector<std::string> lines;
    for (int i = 0; i < 400; ++i) lines.push_back(std::string(std::size_t(i * 37 % 301), char('a' + i % 26)));
    auto path = write_file(dir.path / "lines.gz", gzip_bytes(join(lines)));
    for (std::size_t buffer : {64, 100, 257, 4096, 1 << 20}) {
        INFO("buffer " << buffer);
        CHECK(read_all(path, buffer) == lines);
    }
}

TEST_CASE("a line longer than the buffer is delivered whole") {
    TempDir dir{"course-gzip-test"};
    std::vector<std::string> lines = {"short", std::string(3 << 20, 'x'), "after", std::string(5000, 'y')};
    auto path = write_file(dir.path / "long.gz", gzip_bytes(join(lines)));
    CHECK(read_all(path) == lines);
    CHECK(read_all(path, 64) == lines);
}

TEST_CASE("a last line without a newline is delivered and empty lines are kept") {
    TempDir dir{"course-gzip-test"};
    auto path = write_file(dir.path / "tail.gz", gzip_bytes("first\n\nthird\r\nlast without newline"));
    GzipLineReader reader(path, 64);
    std::vector<std::string> lines;
    std::string_view line;
    while (reader.next(line)) lines.emplace_back(line);
    CHECK(lines == std::vector<std::string>{"first", "", "third\r", "last without newline"});
    CHECK(reader.line_number() == 4);
    CHECK(reader.bytes_out() == 34);
    CHECK_FALSE(reader.next(line));  // stays at the end
}

TEST_CASE("concatenated gzip members read as one stream") {
    TempDir dir{"course-gzip-test"};
    auto path = write_file(dir.path / "members.gz", gzip_bytes("one\ntw") + gzip_bytes("o\nthree\n") + gzip_bytes("") +
                                                        gzip_bytes("four"));
    CHECK(read_all(path, 64) == std::vector<std::string>{"one", "two", "three", "four"});
    // The checked-in fixture: two members of 25 and 35 papers.
    auto outcome = read_fixture("concatenated.gz");
    CHECK_FALSE(outcome.threw);
    CHECK(outcome.lines == fixture_papers());
}

TEST_CASE("for_each_line counts the lines it hands over") {
    std::size_t seen = 0;
    auto count = course::for_each_line((broken_dir / "concatenated.gz").string(), [&](std::string_view) { ++seen; });
    CHECK(count == 60);
    CHECK(seen == 60);
}

TEST_CASE("the truncated fixture delivers its 28 good lines then names the file and line 29") {
    auto outcome = read_fixture("truncated.gz");
    REQUIRE(outcome.threw);
    CHECK(outcome.lines.size() == 28);
    CHECK(outcome.lines == std::vector<std::string>(fixture_papers().begin(), fixture_papers().begin() + 28));
    CHECK(outcome.line == 29);
    CHECK(outcome.path.find("truncated.gz") != std::string::npos);
    CHECK(outcome.what.find("truncated.gz") != std::string::npos);
    CHECK(outcome.what.find("truncated gzip data") != std::string::npos);
    CHECK(outcome.what.find("line 29") != std::string::npos);
}

TEST_CASE("the corrupt fixture delivers its 29 good lines then names the file and line 30") {
    auto outcome = read_fixture("corrupt.gz");
    REQUIRE(outcome.threw);
    CHECK(outcome.lines.size() == 29);
    CHECK(outcome.lines == std::vector<std::string>(fixture_papers().begin(), fixture_papers().begin() + 29));
    CHECK(outcome.line == 30);
    CHECK(outcome.what.find("corrupt.gz") != std::string::npos);
    CHECK(outcome.what.find("corrupt gzip data") != std::string::npos);
    CHECK(outcome.what.find("line 30") != std::string::npos);
}

TEST_CASE("the same corrupt data gives the same lines with a tiny buffer") {
    GzipLineReader reader((broken_dir / "corrupt.gz").string(), 64);
    std::string_view line;
    std::size_t good = 0;
    CHECK_THROWS_AS([&] { while (reader.next(line)) ++good; }(), gzip_error);
    CHECK(good == 29);
}

TEST_CASE("the empty fixture has zero lines and no error") {
    auto outcome = read_fixture("empty.gz");
    CHECK_FALSE(outcome.threw);
    CHECK(outcome.lines.empty());
}

TEST_CASE("a file that is not gzip is refused when it is opened") {
    auto path = (broken_dir / "not-gzip.gz").string();
    try {
        GzipLineReader reader(path);
        FAIL("no error for a file that is not gzip");
    } catch (const gzip_error& e) {
        CHECK(std::string(e.what()).find("not-gzip.gz") != std::string::npos);
        CHECK(std::string(e.what()).find("not a gzip file") != std::string::npos);
        CHECK(e.line() == 1);
    }
}

TEST_CASE("a missing file is an error that names it") {
    try {
        GzipLineReader reader("/nonexistent/folder/s2-corpus-99.gz");
        FAIL("no error for a missing file");
    } catch (const gzip_error& e) {
        CHECK(std::string(e.what()).find("/nonexistent/folder/s2-corpus-99.gz") != std::string::npos);
        CHECK(e.line() == 0);
    }
}

TEST_CASE("the JSON fixtures are good gzip whose problems are for the JSON parser") {
    auto malformed = read_fixture("malformed-json.gz");
    CHECK_FALSE(malformed.threw);
    REQUIRE(malformed.lines.size() == 20);
    for (std::size_t i = 0; i < 20; ++i) {
        INFO("malformed-json.gz line " << i + 1);
        CHECK(nlohmann::json::accept(malformed.lines[i]) == (i != 7));
    }

    auto wrong = read_fixture("wrong-types.gz");
    CHECK_FALSE(wrong.threw);
    REQUIRE(wrong.lines.size() == 20);
    for (std::size_t i = 0; i < 20; ++i) {
        INFO("wrong-types.gz line " << i + 1);
        auto paper = nlohmann::json::parse(wrong.lines[i]);
        CHECK(paper["year"].is_string() == (i == 4));
        CHECK(paper["authors"].is_string() == (i == 11));
    }
}
