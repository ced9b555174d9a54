// The loaders' parsers (parsers.hpp): nlohmann's DOM (parse_paper), nlohmann's SAX
// interface, and simdjson's On-Demand API. The two fast ones pull the four fields out
// and then apply the same skip and type rules as parse_paper (struct Fields below).
#include "parsers.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>
#ifdef COURSE_HAVE_SIMDJSON
#include <simdjson.h>
#endif

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

    // The JSON part alone: every key of the record read, every value skipped.
    std::size_t keys(std::string_view line) {
        padded_.assign(line);
        padded_.append(simdjson::SIMDJSON_PADDING, ' ');
        std::size_t n = 0;
        simdjson::ondemand::document doc = parser_.iterate(padded_.data(), line.size(), padded_.size());
        for (auto field : doc.get_object()) n += std::string_view(field.unescaped_key()).size();
        return n;
    }

private:
    simdjson::ondemand::parser parser_;
    std::string padded_;
};
#endif

// The JSON part alone, for the per-paper breakdown: every token read, nothing kept.
class CountTokens : public nlohmann::json_sax<json> {
public:
    std::size_t tokens = 0;
    bool null() override { return ++tokens; }
    bool boolean(bool) override { return ++tokens; }
    bool number_integer(number_integer_t) override { return ++tokens; }
    bool number_unsigned(number_unsigned_t) override { return ++tokens; }
    bool number_float(number_float_t, const string_t&) override { return ++tokens; }
    bool string(string_t&) override { return ++tokens; }
    bool binary(binary_t&) override { return ++tokens; }
    bool start_object(std::size_t) override { return ++tokens; }
    bool end_object() override { return ++tokens; }
    bool start_array(std::size_t) override { return ++tokens; }
    bool end_array() override { return ++tokens; }
    bool key(string_t&) override { return ++tokens; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
        throw paper_error(std::string("malformed JSON: ") + e.what());
    }
};

std::optional<Paper> parse_dom(std::string_view line) { return course::loading::parse_paper(line); }
std::size_t dom_only(std::string_view line) { return json::parse(line.data(), line.data() + line.size()).size(); }
std::size_t sax_only(std::string_view line) {
    CountTokens handler;
    json::sax_parse(line.data(), line.data() + line.size(), &handler);
    return handler.tokens;
}

#ifdef COURSE_HAVE_SIMDJSON
// One parser (and its padded buffer) per thread: a forked worker gets its own copy.
SimdjsonPapers& simdjson_papers() {
    thread_local SimdjsonPapers papers;
    return papers;
}
std::optional<Paper> parse_simdjson(std::string_view line) { return simdjson_papers().parse(line); }
std::size_t simdjson_only(std::string_view line) { return simdjson_papers().keys(line); }
#endif

}  // namespace

ParseFn parse_function(ParserKind kind) {
    switch (kind) {
        case ParserKind::dom: return parse_dom;
        case ParserKind::sax: return parse_paper_sax;
#ifdef COURSE_HAVE_SIMDJSON
        case ParserKind::simdjson: return parse_simdjson;
#else
        case ParserKind::simdjson: break;
#endif
    }
    throw std::invalid_argument("parser " + parser_name(kind) + " is not built in");
}

std::size_t (*parse_only_function(ParserKind kind))(std::string_view) {
    switch (kind) {
        case ParserKind::dom: return dom_only;
        case ParserKind::sax: return sax_only;
#ifdef COURSE_HAVE_SIMDJSON
        case ParserKind::simdjson: return simdjson_only;
#else
        case ParserKind::simdjson: break;
#endif
    }
    throw std::invalid_argument("parser " + parser_name(kind) + " is not built in");
}

std::string parser_name(ParserKind kind) {
    return kind == ParserKind::dom ? "dom" : kind == ParserKind::sax ? "sax" : "simdjson";
}

std::string parser_title(ParserKind kind) {
    return kind == ParserKind::dom ? "nlohmann DOM" : kind == ParserKind::sax ? "nlohmann SAX" : "simdjson";
}

std::vector<ParserKind> available_parsers() {
#ifdef COURSE_HAVE_SIMDJSON
    return {ParserKind::dom, ParserKind::sax, ParserKind::simdjson};
#else
    return {ParserKind::dom, ParserKind::sax};
#endif
}

ParserKind fastest_parser() { return available_parsers().back(); }

ParserKind parser_from_name(const std::string& name) {
    for (auto kind : {ParserKind::dom, ParserKind::sax, ParserKind::simdjson})
        if (name == parser_name(kind)) {
#ifndef COURSE_HAVE_SIMDJSON
            if (kind == ParserKind::simdjson)
                throw std::invalid_argument("--parser simdjson: simdjson was not found when this lesson was built "
                                            "(install libsimdjson-dev, then ./course build)");
#endif
            return kind;
        }
    throw std::invalid_argument("--parser " + name + ": unknown parser (choose dom, sax or simdjson)");
}

}  // namespace lesson08
