// Tests of one line -> one Paper: the fields kept, the records skipped as the seed
// skips them, the errors for bad lines, and the abstract's sentences and tokens.
// Each case names the rule of loading.hpp it guards ("Rule: ..."); the mutants in
// solutions/08-distributed-loading/mutants/ break one rule each.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "loading.hpp"
#include "paper_printing.hpp"

using course::loading::paper_error;
using course::loading::parse_paper;
using course::loading::tokenize_abstract;
using Sentences = std::vector<std::vector<std::string>>;

namespace {

// A record shaped like the corpus's, with the seed's first paper in miniature.
nlohmann::json record() {
    return {
        {"entities", {"Maltose", "Mucor"}},
        {"year", 1996},
        {"id", "2365e67076e8cfffba013541521c21220532689e"},
        {"authors", {{{"name", "M Sugimoto"}, {"ids", {"2022073"}}}, {{"name", "Y Suzuki"}, {"ids", {"2185085"}}}}},
        {"paperAbstract", "A cDNA was cloned (n = 5). It comprised 2,751 bp, and \"worked\"!"},
        {"title", "Molecular cloning of a cDNA."},
        {"venue", "Journal of biochemistry"},
    };
}

// What parse_paper makes of a line, in words a failing check can show:
// "skipped", "a paper", or "paper_error: ..." (any other exception passes through).
std::string outcome(const nlohmann::json& doc) {
    try {
        return parse_paper(doc.dump()) ? "a paper" : "skipped";
    } catch (const paper_error& e) {
        return std::string("paper_error: ") + e.what();
    }
}

}  // namespace

// Rule: parse_paper keeps the title, the authors' names, the year and the abstract's tokens.
TEST_CASE("parse_paper keeps the title authors year and tokenized abstract") {
    auto paper = parse_paper(record().dump());
    REQUIRE(paper.has_value());
    CHECK(paper->title == "Molecular cloning of a cDNA.");
    CHECK(paper->authors == std::vector<std::string>{"M Sugimoto", "Y Suzuki"});
    CHECK(paper->year == 1996);
    CHECK(paper->abstract_tokens == Sentences{{"A", "cDNA", "was", "cloned", "(", "n", "=", "5", ")", "."},
                                              {"It", "comprised", "2,751", "bp", ",", "and", "\"", "worked", "\"",
                                               "!"}});
}

// Rule: every valid record of the corpus's shape is a paper.
TEST_CASE("parse_paper reads every generated corpus record as a paper") {
    auto lines = course::datasets::generate_papers(50, 7);
    for (auto& line : lines) {
        INFO(line.substr(0, 120));
        auto paper = parse_paper(line);
        REQUIRE(paper.has_value());
        CHECK_FALSE(paper->title.empty());
        CHECK_FALSE(paper->authors.empty());
        CHECK(paper->year > 1900);
        REQUIRE_FALSE(paper->abstract_tokens.empty());
        for (auto& sentence : paper->abstract_tokens) CHECK_FALSE(sentence.empty());
    }
}

// Rule: nullopt for a record the seed skips: no "title", "authors", "year" or
// "paperAbstract" (or null), no authors, or an abstract without tokens. Each rule alone.
TEST_CASE("parse_paper skips the records the seed skips") {
    REQUIRE(outcome(record()) == "a paper");
    for (const char* name : {"title", "authors", "year", "paperAbstract"}) {
        INFO("without " << name);
        auto missing = record();
        missing.erase(name);
        CHECK(outcome(missing) == "skipped");
        INFO("with " << name << " null");
        auto null = record();
        null[name] = nullptr;
        CHECK(outcome(null) == "skipped");
    }
    auto no_authors = record();
    no_authors["authors"] = nlohmann::json::array();
    CHECK(outcome(no_authors) == "skipped");
    for (const char* text : {"", "   ", "\n\t"}) {
        INFO("abstract " << nlohmann::json(text).dump());
        auto no_abstract = record();
        no_abstract["paperAbstract"] = text;
        CHECK(outcome(no_abstract) == "skipped");
    }
}

// Rule: paper_error for a line that is not a JSON object, or whose fields have the wrong
// types (year not an integer, authors not a list of {"name": ...}).
TEST_CASE("parse_paper throws paper_error on malformed JSON and on wrong types") {
    std::string line = record().dump();
    CHECK_THROWS_AS(parse_paper(line.substr(0, line.size() / 3)), paper_error);
    CHECK_THROWS_AS(parse_paper("not json at all"), paper_error);
    CHECK_THROWS_AS(parse_paper("[1, 2, 3]"), paper_error);

    auto wrong = [](const char* field, nlohmann::json value) {
        auto doc = record();
        doc[field] = std::move(value);
        return outcome(doc);
    };
    CHECK_THAT(wrong("year", "1996"), StartsWith("paper_error"));
    CHECK_THAT(wrong("year", 1996.5), StartsWith("paper_error"));
    CHECK_THAT(wrong("authors", "M Sugimoto, Y Suzuki"), StartsWith("paper_error"));
    CHECK_THAT(wrong("authors", {"M Sugimoto", "Y Suzuki"}), StartsWith("paper_error"));
    CHECK_THAT(wrong("authors", {{{"ids", {"1"}}}}), StartsWith("paper_error"));
    CHECK_THAT(wrong("authors", {{{"name", 7}}}), StartsWith("paper_error"));
    CHECK_THAT(wrong("title", 42), StartsWith("paper_error"));
}

// Rule: sentences end with a token "." "!" or "?" at the end of a word; leading ( [ { " '
// and trailing ) ] } " ' . , ; : ! ? are tokens of their own.
TEST_CASE("tokenize_abstract splits sentences then tokens") {
    CHECK(tokenize_abstract("Cells grew (n = 5). It worked, twice!") ==
          Sentences{{"Cells", "grew", "(", "n", "=", "5", ")", "."}, {"It", "worked", ",", "twice", "!"}});
    CHECK(tokenize_abstract("A rate of 12.5 % was seen. Why?  Because") ==
          Sentences{{"A", "rate", "of", "12.5", "%", "was", "seen", "."}, {"Why", "?"}, {"Because"}});
    CHECK(tokenize_abstract("alpha-glucosidase, (the enzyme).") ==
          Sentences{{"alpha-glucosidase", ",", "(", "the", "enzyme", ")", "."}});
    // "!" ends a sentence in the middle of a text too; every opening and closing mark splits.
    CHECK(tokenize_abstract("It worked! [See {'Fig. 2'}]; \"done\"?") ==
          Sentences{{"It", "worked", "!"},
                    {"[", "See", "{", "'", "Fig", "."},
                    {"2", "'", "}", "]", ";", "\"", "done", "\"", "?"}});
    CHECK(tokenize_abstract("").empty());
    CHECK(tokenize_abstract("  \t ").empty());
}
