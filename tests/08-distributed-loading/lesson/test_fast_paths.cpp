// Tests of lesson 08's fast paths (lessons/08-distributed-loading/parsers.cpp and
// loaders.cpp): --parser sax|simdjson must change how fast the lesson's loaders run,
// never what they deliver. Checked against the solution's parse_paper and serial loader,
// on the sample corpus and on every broken fixture of datasets/broken/. A program of
// its own (label solution): these test the lesson, not the student's exercise.
#include <algorithm>
#include <functional>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/gzip_lines.hpp"
#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "paper_printing.hpp"
#include "parts.hpp"

namespace fs = std::filesystem;
using namespace course::loading;
using lesson08::ParserKind;

namespace {

const fs::path datasets_dir = COURSE_DATASETS_DIR;
const fs::path sample_dir = datasets_dir / "samples" / "corpus";
const fs::path broken_dir = datasets_dir / "broken";

// Every corpus-like file the course ships: the sample corpus, then each broken fixture.
std::vector<fs::path> all_files() {
    auto files = course::datasets::corpus_files(sample_dir);
    for (const char* name : {"concatenated.gz", "corrupt.gz", "empty.gz", "malformed-json.gz", "not-gzip.gz",
                             "truncated.gz", "wrong-types.gz"})
        files.push_back(broken_dir / name);
    return files;
}

// One line's outcome, printable: the paper, "skipped", or "paper_error".
struct Outcome {
    std::optional<Paper> paper;
    bool threw = false;
    bool operator==(const Outcome&) const = default;
};
std::string describe(const Outcome& o) {
    if (o.threw) return "paper_error";
    if (!o.paper) return "skipped (nullopt)";
    return Catch::StringMaker<Paper>::convert(*o.paper);
}
Outcome outcome(lesson08::ParseFn parse, std::string_view line) {
    try {
        return {parse(line), false};
    } catch (const paper_error&) {
        return {std::nullopt, true};
    }
}

std::vector<Paper> sorted(std::vector<Paper> papers) {
    std::sort(papers.begin(), papers.end());
    return papers;
}

// (file, line) of each error, the way a student would compare reports.
std::set<std::pair<std::string, std::size_t>> where(const std::vector<LoadError>& errors) {
    std::set<std::pair<std::string, std::size_t>> at;
    for (auto& e : errors) at.insert({fs::path(e.file).filename().string(), e.line});
    return at;
}

}  // namespace

// Rule: every parser gives the same Paper as parse_paper for every line (the same skip,
// the same paper_error), on the sample corpus, on each readable line of every fixture,
// and on 3000 generated records.
TEST_CASE("lesson 08: every --parser gives the same papers as parse_paper, line by line") {
    for (ParserKind kind : lesson08::available_parsers()) {
        auto parse = lesson08::parse_function(kind);
        std::size_t compared = 0;
        for (const fs::path& file : all_files()) {
            try {
                course::GzipLineReader reader(file.string());
                std::string_view line;
                while (reader.next(line)) {
                    Outcome expected = outcome(course::loading::parse_paper, line), got = outcome(parse, line);
                    ++compared;
                    if (got == expected) continue;
                    INFO("parser " << lesson08::parser_name(kind) << ", " << file.filename().string() << " line "
                                   << reader.line_number() << ": parse_paper gives " << describe(expected)
                                   << ", this parser " << describe(got)
                                   << ". Fix the parser in lessons/08-distributed-loading/parsers.cpp.");
                    CHECK(got == expected);
                    break;
                }
            } catch (const course::gzip_error&) {
                // a fixture's bad gzip data: its readable lines were compared above
            }
        }
        // And a larger sample from the corpus generator (skipped records, escapes, Unicode).
        for (auto& line : course::datasets::generate_papers(3000, 11)) {
            Outcome expected = outcome(course::loading::parse_paper, line), got = outcome(parse, line);
            ++compared;
            if (got == expected) continue;
            INFO("parser " << lesson08::parser_name(kind) << ", generated line " << line << ": parse_paper gives "
                           << describe(expected) << ", this parser " << describe(got));
            CHECK(got == expected);
            break;
        }
        INFO("parser " << lesson08::parser_name(kind) << ": lines compared");
        CHECK(compared > 3000);
    }
}

// Rule: a line parse_paper rejects is rejected by every parser, whatever the reason:
// the record kinds of datasets/broken/wrong-types.gz and malformed JSON, one by one.
TEST_CASE("lesson 08: every --parser throws paper_error where parse_paper does, on hand-made lines") {
    const std::vector<std::string> lines = {
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001, "paperAbstract": "Words here."})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": "2001", "paperAbstract": "Words."})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001.5, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 99999999999, "paperAbstract": "Words."})",
        R"({"title": 7, "authors": [{"name": "A"}], "year": 2001, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": "A", "year": 2001, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": ["A"], "year": 2001, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": [{"id": 1}], "year": 2001, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": [{"name": null}], "year": 2001, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": [], "year": 2001, "paperAbstract": "Words."})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001, "paperAbstract": "   "})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001, "paperAbstract": null})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001, "paperAbstract": ["Words."]})",
        R"({"title": "T\u00e9", "authors": [{"name": "A\"B"}], "year": -5, "paperAbstract": "A \"quote\" (x)."})",
        R"({"title": "T", "authors": [{"name": "A"}], "year": 2001, "paperAbstract": "cut)",
        R"([1, 2, 3])",
        R"("just a string")",
        R"()",
        R"(not json at all)",
    };
    for (ParserKind kind : lesson08::available_parsers()) {
        auto parse = lesson08::parse_function(kind);
        for (auto& line : lines) {
            Outcome expected = outcome(course::loading::parse_paper, line), got = outcome(parse, line);
            INFO("parser " << lesson08::parser_name(kind) << " on " << line << ": parse_paper gives "
                           << describe(expected) << ", this parser " << describe(got));
            CHECK(got == expected);
        }
    }
}

// Rule: the lesson's loaders deliver what the solution's serial loader delivers (the
// same papers as a multiset, the same failed files and lines), with every parser.
TEST_CASE("lesson 08: the lesson's serial, async, threaded and distributed loaders match the solution's, with every parser") {
    const auto files = all_files();
    auto reference = serial_channel_load(files, 64);
    std::vector<Paper> expected;
    for (auto& paper : reference.channel()) expected.push_back(std::move(paper));
    const auto expected_errors = where(reference.errors());
    REQUIRE(expected.size() > 100);
    REQUIRE(!expected_errors.empty());

    for (ParserKind kind : lesson08::available_parsers()) {
        auto parse = lesson08::parse_function(kind);
        const std::pair<const char*, std::function<LoadHandle()>> loaders[] = {   // async.cpp, loaders.cpp
            {"serial", [&] { return lesson08::serial_load(files, 64, nullptr, parse); }},
            {"async", [&] { return lesson08::async_channel_load(files, 64, nullptr, parse); }},
            {"threaded", [&] { return lesson08::threaded_load(files, 3, 64, nullptr, parse); }},
            {"distributed", [&] { return lesson08::distributed_load(files, 3, 64, nullptr, parse); }},
        };
        for (auto& [name, start] : loaders) {
            auto handle = start();
            std::vector<Paper> got;
            for (auto& paper : handle.channel()) got.push_back(std::move(paper));
            INFO(name << " loader with parser " << lesson08::parser_name(kind) << ": " << got.size()
                      << " papers, the solution's serial loader " << expected.size());
            const bool same_papers = sorted(got) == sorted(expected);
            CHECK(same_papers);
            CHECK(where(handle.errors()) == expected_errors);
        }
    }
}
