// How a failing check prints the loader's types: a Paper by its fields (a long title
// shortened), a LoadError by its file, line, message and whether it was recovered.
#pragma once

#include <string>

#include "course_catch.hpp"
#include "loading.hpp"

namespace Catch {
template <>
struct StringMaker<course::loading::Paper> {
    static std::string convert(const course::loading::Paper& p) {
        std::string title = p.title.size() > 60 ? p.title.substr(0, 57) + "..." : p.title;
        std::size_t tokens = 0;
        for (auto& sentence : p.abstract_tokens) tokens += sentence.size();
        return "Paper{title: " + ::Catch::Detail::stringify(title) +
               ", authors: " + ::Catch::Detail::stringify(p.authors) + ", year: " + std::to_string(p.year) +
               ", abstract: " + std::to_string(p.abstract_tokens.size()) + " sentences, " +
               std::to_string(tokens) + " tokens, loaded_by: " + std::to_string(p.loaded_by) + "}";
    }
};
template <>
struct StringMaker<course::loading::LoadError> {
    static std::string convert(const course::loading::LoadError& e) {
        return "LoadError{file: " + ::Catch::Detail::stringify(e.file) + ", line: " + std::to_string(e.line) +
               ", message: " + ::Catch::Detail::stringify(e.message) +
               ", recovered: " + (e.recovered ? "true" : "false") + "}";
    }
};
}  // namespace Catch
