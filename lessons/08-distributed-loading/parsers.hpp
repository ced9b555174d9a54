// The parsers a loader can use, chosen with --parser. Each turns one corpus line into
// the same Paper as parse_paper (the exercise's nlohmann DOM version), or throws
// paper_error where parse_paper throws, or skips where it skips: the tests check that
// paper by paper on the sample corpus and on every broken fixture.
//
//   dom        parse_paper itself: the whole record becomes a tree, then four fields
//              are read out of it (the exercise's path)
//   sax        nlohmann's SAX interface: one callback per token, only the four fields kept
//   simdjson   simdjson On-Demand (where libsimdjson-dev is installed): walks the text,
//              materialising only the four fields' values
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loading.hpp"

namespace lesson08 {

enum class ParserKind { dom, sax, simdjson };

// One line -> a Paper, nullopt (a record the seed skips), or paper_error. Every parser
// may be called from several threads at once (its scratch space is per thread).
using ParseFn = std::optional<course::loading::Paper> (*)(std::string_view line);

ParseFn parse_function(ParserKind kind);
// The same parser with only its JSON part: the record is read (and for dom, built as a
// tree), nothing is kept. Returns a count of something seen, so the work is not optimised away.
std::size_t (*parse_only_function(ParserKind kind))(std::string_view line);

std::string parser_name(ParserKind kind);      // "dom", "sax", "simdjson"
std::string parser_title(ParserKind kind);     // "nlohmann DOM", "nlohmann SAX", "simdjson"
std::vector<ParserKind> available_parsers();   // simdjson only where it was found at build time
ParserKind fastest_parser();                   // simdjson where available, else sax
// "dom", "sax" or "simdjson"; throws std::invalid_argument naming the choices (and
// saying how to get simdjson when it was not built in).
ParserKind parser_from_name(const std::string& name);

}  // namespace lesson08
