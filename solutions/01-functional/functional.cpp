#include "functional.hpp"

#include <charconv>
#include <stdexcept>

namespace course::functional {

namespace {

int delay_of(const std::string& url) {
    auto slash = url.rfind('/');
    std::string_view last = slash == std::string::npos ? url : std::string_view(url).substr(slash + 1);
    int value = 0;
    auto [end, error] = std::from_chars(last.data(), last.data() + last.size(), value);
    if (last.empty() || error != std::errc{} || end != last.data() + last.size() || value < 0)
        throw std::invalid_argument("no delay at the end of URL '" + url + "' (expected .../delay/<seconds>)");
    return value;
}

bool is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

using Counts = std::map<std::string, std::size_t>;

// map step: one line -> its own word counts. Touches nothing but its argument.
Counts count_line(const std::string& line) {
    Counts counts;
    std::string word;
    for (unsigned char c : line) {
        if (is_word_byte(c)) {
            word.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : char(c));
        } else if (!word.empty()) {
            ++counts[word];
            word.clear();
        }
    }
    if (!word.empty()) ++counts[word];
    return counts;
}

// reduce step: merge two counts. Associative and commutative, so the merges can be
// done in any grouping: by one thread left to right, or by many threads in a tree.
Counts merge(Counts total, const Counts& part) {
    for (auto& [word, n] : part) total[word] += n;
    return total;
}

}  // namespace

std::vector<int> delays_from_urls(const std::vector<std::string>& urls) {
    return map(urls, delay_of);
}

std::map<std::string, std::size_t> word_frequencies(const std::vector<std::string>& lines) {
    return reduce(map(lines, count_line), Counts{}, merge);
}

}  // namespace course::functional
