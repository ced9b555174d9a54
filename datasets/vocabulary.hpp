// The words the corpus generator writes: a few thousand English and scientific words,
// author names and journals, some of them non-ASCII (UTF-8) so that a loader's
// decoding is exercised: a name like "Łukasz Wiśniewski" must come out as it went in.
#pragma once

#include <string_view>
#include <vector>

namespace course::datasets {

struct Vocabulary {
    std::vector<std::string_view> function_words;  // the, of, and, ... (most frequent)
    std::vector<std::string_view> content_words;   // nouns, verbs, adjectives, technical terms
    std::vector<std::string_view> entities;        // capitalised terms for "entities"
    std::vector<std::string_view> first_names;
    std::vector<std::string_view> last_names;
    std::vector<std::string_view> journals;
    std::vector<std::string_view> conferences;
};

// Built once, on first use (thread-safe); the words live as long as the program.
const Vocabulary& vocabulary();

}  // namespace course::datasets
