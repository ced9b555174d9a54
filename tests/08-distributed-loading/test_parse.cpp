// Tests of one line -> one Paper: the fields kept, the records skipped as the seed
// skips them, the errors for bad lines, and the abstract's sentences and tokens.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "loading.hpp"

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

}  // namespace

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

TEST_CASE("parse_paper skips the records the seed skips") {
    for (const char* name : {"title", "authors", "year", "paperAbstract"}) {
        INFO("without " << name);
        auto missing = record();
        missing.erase(name);
        CHECK_FALSE(parse_paper(missing.dump()).has_value());
        auto null = record();
        null[name] = nullptr;
        CHECK_FALSE(parse_paper(null.dump()).has_value());
    }
    auto no_authors = record();
    no_authors["authors"] = nlohmann::json::array();
    CHECK_FALSE(parse_paper(no_authors.dump()).has_value());
    for (const char* text : {"", "   ", "\n\t"}) {
        auto no_abstract = record();
        no_abstract["paperAbstract"] = text;
        CHECK_FALSE(parse_paper(no_abstract.dump()).has_value());
    }
}

TEST_CASE("parse_paper throws paper_error on malformed JSON and on wrong types") {
    std::string line = record().dump();
    CHECK_THROWS_AS(parse_paper(line.substr(0, line.size() / 3)), paper_error);
    CHECK_THROWS_AS(parse_paper("not json at all"), paper_error);
    CHECK_THROWS_AS(parse_paper("[1, 2, 3]"), paper_error);

    auto year_text = record();
    year_text["year"] = "1996";
    CHECK_THROWS_AS(parse_paper(year_text.dump()), paper_error);
    auto authors_text = record();
    authors_text["authors"] = "M Sugimoto, Y Suzuki";
    CHECK_THROWS_AS(parse_paper(authors_text.dump()), paper_error);
    auto nameless = record();
    nameless["authors"] = {{{"ids", {"1"}}}};
    CHECK_THROWS_AS(parse_paper(nameless.dump()), paper_error);
    auto title_number = record();
    title_number["title"] = 42;
    CHECK_THROWS_AS(parse_paper(title_number.dump()), paper_error);
}

TEST_CASE("tokenize_abstract splits sentences then tokens") {
    CHECK(tokenize_abstract("Cells grew (n = 5). It worked, twice!") ==
          Sentences{{"Cells", "grew", "(", "n", "=", "5", ")", "."}, {"It", "worked", ",", "twice", "!"}});
    CHECK(tokenize_abstract("A rate of 12.5 % was seen. Why?  Because") ==
          Sentences{{"A", "rate", "of", "12.5", "%", "was", "seen", "."}, {"Why", "?"}, {"Because"}});
    CHECK(tokenize_abstract("alpha-glucosidase, (the enzyme).") ==
          Sentences{{"alpha-glucosidase", ",", "(", "the", "enzyme", ")", "."}});
    CHECK(tokenize_abstract("").empty());
    CHECK(tokenize_abstract("  \t ").empty());
}
