// Section 5: moving the bottleneck. Parsing is the slow stage, so make it faster:
//   - nlohmann's SAX interface: events instead of a tree, keeping only the four fields;
//   - simdjson's On-Demand API (where libsimdjson-dev is installed): walks the text,
//     materialising only the values asked for.
// Once parsing is faster than zlib, decompression is the limit: the serial loader
// cannot beat decompression alone, however fast the parser (Amdahl in action).
#include <cstdio>
#include <iostream>
#include <limits>

#include <nlohmann/json.hpp>
#ifdef COURSE_HAVE_SIMDJSON
#include <simdjson.h>
#endif

#include "common/gzip_lines.hpp"
#include "parts.hpp"

namespace lesson08 {

using course::loading::Paper;
using course::loading::paper_error;
using json = nlohmann::json;

namespace {

// The seed's skip rules and our type rules, shared by both fast parsers once they
// have pulled the four fields out.
struct Fields {
    bool title = false, authors = false, year = false, abstract = false;   // present, not null
    bool wrong_type = false;
    std::string why;
    Paper paper;
    std::int64_t year_value = 0;
    std::string abstract_text;

    void type_error(std::string what) {
        if (!wrong_type) wrong_type = true, why = std::move(what);
    }
    std::optional<Paper> finish() {
        if (!title || !authors || !year || !abstract) return std::nullopt;
        if (wrong_type) throw paper_error(why);
        if (year_value < std::numeric_limits<int>::min() || year_value > std::numeric_limits<int>::max())
            throw paper_error("\"year\" is out of range");
        if (paper.authors.empty()) return std::nullopt;
        paper.abstract_tokens = course::loading::tokenize_abstract(abstract_text);
        if (paper.abstract_tokens.empty()) return std::nullopt;
        paper.year = int(year_value);
        return std::move(paper);
    }
};

// nlohmann SAX: one callback per token. depth counts open objects/arrays: 1 inside the
// record, 2 inside "authors", 3 inside one author.
class FourFields : public nlohmann::json_sax<json> {
public:
    Fields f;

    bool null() override { return value_null(); }
    bool boolean(bool) override { return other("a boolean"); }
    bool number_integer(number_integer_t v) override { return integer(v); }
    bool number_unsigned(number_unsigned_t v) override { return integer(std::int64_t(v)); }
    bool number_float(number_float_t, const string_t&) override { return other("a fraction"); }
    bool binary(binary_t&) override { return other("binary"); }
    bool string(string_t& s) override {
        if (depth_ == 1) {
            if (field_ == Field::title) f.title = true, f.paper.title = std::move(s);
            else if (field_ == Field::abstract) f.abstract = true, f.abstract_text = std::move(s);
            else if (field_ != Field::other) return other("a string");
        } else if (depth_ == 2 && in_authors_) {
            f.type_error("an author is not an object with a \"name\" string");
        } else if (depth_ == 3 && in_authors_ && author_key_ == Field::name) {
            f.paper.authors.push_back(std::move(s));
            author_named_ = true;
        }
        return true;
    }
    bool start_object(std::size_t) override {
        if (depth_ == 1 && field_ != Field::other) other("an object");
        if (depth_ == 2 && in_authors_) author_named_ = false;
        ++depth_;
        return true;
    }
    bool end_object() override {
        --depth_;
        if (depth_ == 2 && in_authors_ && !author_named_) f.type_error("an author is not an object with a \"name\" string");
        if (depth_ == 1) field_ = Field::other;
        return true;
    }
    bool key(string_t& k) override {
        if (depth_ == 1) {
            field_ = k == "title" ? Field::title : k == "authors" ? Field::authors : k == "year" ? Field::year
                   : k == "paperAbstract" ? Field::abstract : Field::other;
        } else if (depth_ == 3 && in_authors_) {
            author_key_ = k == "name" ? Field::name : Field::other;
        }
        return true;
    }
    bool start_array(std::size_t) override {
        if (depth_ == 1 && field_ == Field::authors) in_authors_ = true, f.authors = true;
        else if (depth_ == 1 && field_ != Field::other) other("a list");
        else if (depth_ == 2 && in_authors_) f.type_error("an author is not an object with a \"name\" string");
        ++depth_;
        return true;
    }
    bool end_array() override {
        if (--depth_ == 1) in_authors_ = false, field_ = Field::other;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
        throw paper_error(std::string("malformed JSON: ") + e.what());
    }

private:
    enum class Field { other, title, authors, year, abstract, name };
    bool value_null() {
        if (depth_ == 2 && in_authors_) f.type_error("an author is not an object with a \"name\" string");
        if (depth_ == 3 && in_authors_ && author_key_ == Field::name) f.type_error("an author's name is null");
        return true;   // a null top-level field counts as missing: nothing to set
    }
    bool integer(std::int64_t v) {
        if (depth_ == 1 && field_ == Field::year) f.year = true, f.year_value = v;
        else return other("a number");
        return true;
    }
    bool other(const char* what) {
        if (depth_ == 1) {
            if (field_ == Field::title) f.title = true, f.type_error(std::string("\"title\" is ") + what);
            if (field_ == Field::year) f.year = true, f.type_error(std::string("\"year\" is ") + what);
            if (field_ == Field::abstract) f.abstract = true, f.type_error(std::string("\"paperAbstract\" is ") + what);
            if (field_ == Field::authors) f.authors = true, f.type_error(std::string("\"authors\" is ") + what);
        } else if (depth_ == 2 && in_authors_) {
            f.type_error("an author is not an object with a \"name\" string");
        } else if (depth_ == 3 && in_authors_ && author_key_ == Field::name) {
            f.type_error("an author's name is not a string");
        }
        return true;
    }

    int depth_ = 0;
    Field field_ = Field::other, author_key_ = Field::other;
    bool in_authors_ = false, author_named_ = false;
};

std::optional<Paper> parse_paper_sax(std::string_view line) {
    FourFields handler;
    json::sax_parse(line.data(), line.data() + line.size(), &handler);
    if (handler.f.title == false && handler.f.authors == false && handler.f.year == false && handler.f.abstract == false &&
        (line.empty() || line.front() != '{'))
        throw paper_error("not a JSON object");
    return handler.f.finish();
}

#ifdef COURSE_HAVE_SIMDJSON
// simdjson On-Demand: iterate the record's fields once, materialise only four.
class SimdjsonPapers {
public:
    std::optional<Paper> parse(std::string_view line) {
        // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy into a padded buffer.
        padded_.assign(line);
        padded_.append(simdjson::SIMDJSON_PADDING, ' ');
        Fields f;
        try {
            simdjson::ondemand::document doc = parser_.iterate(padded_.data(), line.size(), padded_.size());
            simdjson::ondemand::object record = doc.get_object();
            for (auto field : record) {
                std::string_view key = field.unescaped_key();
                auto value = field.value();
                if (key != "title" && key != "authors" && key != "year" && key != "paperAbstract") continue;
                if (value.type() == simdjson::ondemand::json_type::null) continue;
                if (key == "title") {
                    f.title = true;
                    std::string_view s;
                    if (value.get_string().get(s)) f.type_error("\"title\" is not a string");
                    else f.paper.title = s;
                } else if (key == "year") {
                    f.year = true;
                    if (value.get_int64().get(f.year_value)) f.type_error("\"year\" is not an integer");
                } else if (key == "paperAbstract") {
                    f.abstract = true;
                    std::string_view s;
                    if (value.get_string().get(s)) f.type_error("\"paperAbstract\" is not a string");
                    else f.abstract_text = s;
                } else {
                    f.authors = true;
                    simdjson::ondemand::array authors;
                    if (value.get_array().get(authors)) {
                        f.type_error("\"authors\" is not a list");
                        continue;
                    }
                    for (auto author : authors) {
                        simdjson::ondemand::object object;
                        bool named = false;
                        if (!author.get_object().get(object))
                            for (auto member : object) {
                                std::string_view name;
                                if (std::string_view(member.unescaped_key()) == "name" &&
                                    !member.value().get_string().get(name))
                                    f.paper.authors.emplace_back(name), named = true;
                            }
                        if (!named) f.type_error("an author is not an object with a \"name\" string");
                    }
                }
            }
        } catch (const simdjson::simdjson_error& e) {
            throw paper_error(std::string("malformed JSON: ") + e.what());
        }
        return f.finish();
    }

private:
    simdjson::ondemand::parser parser_;
    std::string padded_;
};
#endif

}  // namespace

void move_bottleneck(course::Lesson& lesson, const Settings& s, const StageRates& rates) {
    lesson.section("5. Moving the bottleneck: a faster parser, and decompression becomes the limit");
    std::vector<fs::path> files(s.files.begin(), s.files.begin() + std::min(s.files.size(), s.stage_files));
    std::uint64_t bytes = 0;
    auto lines = read_lines(files, bytes);
    const double mb = megabytes(bytes);
    lesson.say("The same " + std::to_string(files.size()) + " files; each parser builds the same Papers as parse_paper");
    lesson.say("(checked paper by paper on the first 2000 lines). Then a one-thread loader with each parser:");
    lesson.say("decompress + parse, the channel left out; its bound is decompression alone.");

    struct Parser {
        std::string name;
        std::function<std::optional<Paper>(std::string_view)> parse;
    };
    std::vector<Parser> parsers = {
        {"nlohmann DOM", [](std::string_view l) { return course::loading::parse_paper(l); }},
        {"nlohmann SAX", parse_paper_sax},
    };
#ifdef COURSE_HAVE_SIMDJSON
    auto simd = std::make_shared<SimdjsonPapers>();
    parsers.push_back({"simdjson", [simd](std::string_view l) { return simd->parse(l); }});
#else
    lesson.say("  (simdjson not found at build time: its row is skipped; install libsimdjson-dev and rebuild.)");
#endif

    const double decompress_seconds = mb / rates.decompress;
    course::ResultTable parse_table("stage"), loader_table("bottleneck");
    for (auto& p : parsers) {
        bool same = true;
        for (std::size_t i = 0; i < std::min<std::size_t>(lines.size(), 2000); ++i)
            same = same && p.parse(lines[i]) == course::loading::parse_paper(lines[i]);
        std::size_t papers = 0;
        double t_parse = course::best_of(int(s.repeats), [&] {
            papers = 0;
            for (auto& line : lines) papers += p.parse(line).has_value();
        });
        auto& row = parse_table.add({.variant = "paper: " + p.name, .n = lines.size(), .seconds = t_parse,
                                     .bound_seconds = decompress_seconds, .bound = "decompress", .ok = same});
        row.extra["mb_per_second"] = mb / t_parse;

        // The whole single-thread pipeline: zlib, then this parser, line by line.
        std::size_t loaded = 0;
        double t_load = course::best_of(int(s.repeats), [&] {
            loaded = 0;
            for (auto& file : files) {
                course::GzipLineReader reader(file.string());
                std::string_view line;
                while (reader.next(line)) loaded += p.parse(line).has_value();
            }
        });
        auto& load = loader_table.add({.variant = "1 thread, " + p.name, .n = loaded, .seconds = t_load,
                                       .bound_seconds = decompress_seconds, .bound = "decompress",
                                       .ok = same && loaded == papers});
        load.extra["mb_per_second"] = mb / t_load;
        load.extra["decompress_share"] = decompress_seconds / t_load;
    }
    lesson.say("\nParsing alone (lines in memory), MB/s beside decompression's " +
               std::to_string(int(rates.decompress)) + " MB/s:");
    lesson.report(parse_table);
    lesson.say("\nThe one-thread loader with each parser (efficiency = share of the time that is decompression):");
    lesson.report(loader_table);
    for (auto& row : parse_table.rows())
        std::printf("  %-22s %5.0f MB/s: %s\n", row.variant.c_str(), row.extra["mb_per_second"].get<double>(),
                    row.extra["mb_per_second"].get<double>() > rates.decompress
                        ? "faster than zlib: decompression is now the limit"
                        : "slower than zlib: parsing is still the limit");
    std::cout.flush();
    lesson.say("Amdahl: with parsing nearly free, a one-thread loader can at best reach the decompression rate;");
    lesson.say("beyond that only more cores (or a faster codec) help.");
    for (auto& row : parse_table.rows())
        if (!row.ok) throw std::runtime_error(row.variant + " built different Papers than parse_paper");
}

}  // namespace lesson08
