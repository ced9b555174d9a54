// Parsing one line into a Paper, one file into a channel, and the two loaders that run
// inside this process: serial (one producer) and threaded (a pool of producers).
#include "loading.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "paper_stream.hpp"

namespace course::loading {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Character classes, looked up in one table: the tokenizer asks for every byte.
enum : unsigned char { space = 1, opening = 2, closing = 4, full_stop = 8 };
constexpr auto char_classes = [] {
    std::array<unsigned char, 256> table{};
    auto mark = [&table](std::string_view chars, unsigned char what) {
        for (char c : chars) table[static_cast<unsigned char>(c)] |= what;
    };
    mark(" \t\n\r\f\v", space);
    mark("([{\"'", opening);
    mark(")]}\"'.,;:!?", closing);
    mark(".!?", full_stop);
    return table;
}();
bool is(char c, unsigned char what) { return char_classes[static_cast<unsigned char>(c)] & what; }

// SWAR ("SIMD within a register"): 8 bytes of text in one std::uint64_t, tested at once.
constexpr std::uint64_t every_byte = 0x0101010101010101;   // 0x01 in each of the 8 bytes
constexpr std::uint64_t high_bits = 0x80 * every_byte;     // the high bit of each byte

// 0x80 in each byte of x that is <= ' ', 0 in the others. Exact byte by byte: a byte's low
// 7 bits plus 0x5f reach 0x80 exactly when they are >= 0x21, and never carry into the next
// byte; a byte >= 0x80 (part of a UTF-8 character) is never flagged.
std::uint64_t at_most_blank(std::uint64_t x) {
    return ~(((x & ~high_bits) + (0x80 - 0x21) * every_byte) | x) & high_bits;
}

// Where the first flagged byte of a chunk loaded with memcpy sits in memory.
std::size_t first_flagged(std::uint64_t flags) {
    if constexpr (std::endian::native == std::endian::little)
        return static_cast<std::size_t>(std::countr_zero(flags)) / 8;
    else
        return static_cast<std::size_t>(std::countl_zero(flags)) / 8;
}

// The first space in [p, end), or end. Every space is <= ' ', so a chunk of 8 bytes with
// no byte <= ' ' (the usual case inside a word) holds no space; a flagged byte that is no
// space (a control character: it stays inside the word) is stepped over.
const char* find_space(const char* p, const char* end) {
    while (end - p >= 8) {
        std::uint64_t chunk;
        std::memcpy(&chunk, p, 8);
        if (std::uint64_t flags = at_most_blank(chunk); flags == 0) {
            p += 8;
        } else {
            p += first_flagged(flags);
            if (is(*p, space)) return p;
            ++p;
        }
    }
    while (p < end && !is(*p, space)) ++p;
    return p;
}

// A field of the record, or nullptr when it is absent or null (the seed skips those).
json* field(json& doc, const char* name) {
    auto it = doc.find(name);
    return it == doc.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

std::vector<std::vector<std::string>> tokenize_abstract(std::string_view text) {
    // Two passes: find the tokens as views into `text` (into scratch space this thread
    // reuses), then build every sentence's vector at its exact size. A Paper crosses
    // to the consumer's thread and lives there until popped: the smaller it is, the
    // less memory the channel's 1024 papers in flight drag through the caches.
    // What makes it fast (measured: about twice as fast as a byte-by-byte loop):
    //  - a word's end is found 8 bytes at a time (find_space, above);
    //  - a plain word (no punctuation at either end) takes one test, not the loops;
    //  - a short token becomes a std::string by copying 15 bytes, a length the compiler
    //    knows (a few moves instead of a call to memcpy), then cutting it to size.
    thread_local std::vector<std::string_view> tokens;
    thread_local std::vector<std::size_t> sentence_ends;   // one past each sentence's last token
    tokens.clear();
    sentence_ends.clear();
    const char* p = text.data();
    const char* const end = p + text.size();
    while (true) {
        while (p < end && is(*p, space)) ++p;
        if (p == end) break;
        const char* const word_end = find_space(p + 1, end);   // the word is [p, word_end)
        const char* first = p;                                  // the word proper is [first, tail)
        const char* tail = word_end;
        p = word_end;
        if (!is(*first, opening) && !is(tail[-1], closing)) {   // a plain word
            tokens.emplace_back(first, static_cast<std::size_t>(tail - first));
            continue;
        }
        while (first < tail && is(*first, opening)) tokens.emplace_back(first++, 1);
        while (tail > first && is(tail[-1], closing)) --tail;
        if (first < tail) tokens.emplace_back(first, static_cast<std::size_t>(tail - first));
        bool sentence_over = false;
        for (const char* k = tail; k < word_end; ++k) {
            tokens.emplace_back(k, 1);
            sentence_over = sentence_over || is(*k, full_stop);
        }
        if (sentence_over) sentence_ends.push_back(tokens.size());
    }
    if (sentence_ends.empty() ? !tokens.empty() : sentence_ends.back() != tokens.size())
        sentence_ends.push_back(tokens.size());   // a last sentence without a full stop

    // 15 chars fit in the string object itself (no allocation) in libstdc++, libc++ and
    // MSVC. Copying 15 needs 15 bytes of text from the token on: near the text's end, the
    // ordinary constructor.
    constexpr std::size_t short_token = 15;
    std::vector<std::vector<std::string>> sentences(sentence_ends.size());
    std::size_t from = 0;
    for (std::size_t s = 0; s < sentences.size(); ++s) {
        sentences[s].reserve(sentence_ends[s] - from);
        for (; from < sentence_ends[s]; ++from) {
            std::string_view token = tokens[from];
            if (token.size() <= short_token && static_cast<std::size_t>(end - token.data()) >= short_token)
                sentences[s].emplace_back(token.data(), short_token).resize(token.size());
            else
                sentences[s].emplace_back(token);
        }
    }
    return sentences;
}

std::optional<Paper> parse_paper(std::string_view json_line) {
    json doc;
    try {
        doc = json::parse(json_line.data(), json_line.data() + json_line.size());
    } catch (const json::parse_error& e) {
        throw paper_error(std::string("malformed JSON: ") + e.what());
    }
    if (!doc.is_object()) throw paper_error("not a JSON object");

    // The seed's rule, in its order: all four fields present, else skip.
    json* title = field(doc, "title");
    json* authors = field(doc, "authors");
    json* year = field(doc, "year");
    json* abstract = field(doc, "paperAbstract");
    if (!title || !authors || !year || !abstract) return std::nullopt;

    if (!title->is_string()) throw paper_error("\"title\" is not a string");
    if (!year->is_number_integer()) throw paper_error("\"year\" is not an integer: " + year->dump());
    if (!authors->is_array()) throw paper_error("\"authors\" is not a list");
    if (!abstract->is_string()) throw paper_error("\"paperAbstract\" is not a string");
    auto year_value = year->get<std::int64_t>();
    if (year_value < std::numeric_limits<int>::min() || year_value > std::numeric_limits<int>::max())
        throw paper_error("\"year\" is out of range: " + year->dump());

    Paper paper;
    paper.authors.reserve(authors->size());
    for (auto& author : *authors) {
        json* name = author.is_object() ? field(author, "name") : nullptr;
        if (!name || !name->is_string()) throw paper_error("an author is not an object with a \"name\" string");
        paper.authors.push_back(std::move(name->get_ref<std::string&>()));   // doc is ours: take, not copy
    }
    if (paper.authors.empty()) return std::nullopt;
    paper.abstract_tokens = tokenize_abstract(abstract->get_ref<const std::string&>());
    if (paper.abstract_tokens.empty()) return std::nullopt;
    paper.title = std::move(title->get_ref<std::string&>());
    paper.year = int(year_value);
    return paper;
}

namespace detail {

std::size_t for_each_paper(const fs::path& file, std::size_t skip, const std::function<void(Paper&&)>& on_paper) {
    const long pid = long(::getpid());
    std::size_t papers = 0;
    try {
        GzipLineReader reader(file.string());
        std::string_view line;
        while (reader.next(line)) {
            std::optional<Paper> paper;
            try {
                paper = parse_paper(line);
            } catch (const paper_error& e) {
                std::size_t at = reader.line_number();
                throw load_error({.file = file.string(), .line = at,
                                  .message = file.string() + ", line " + std::to_string(at) + ": " + e.what()});
            }
            if (!paper || ++papers <= skip) continue;
            paper->loaded_by = pid;
            on_paper(std::move(*paper));
        }
    } catch (const gzip_error& e) {
        // The reader delivered every complete line before the problem: so did we.
        throw load_error({.file = file.string(), .line = e.line(), .message = e.what()});
    }
    return papers;
}

}  // namespace detail

std::size_t load_paper_data(Channel<Paper>& out, const fs::path& file, Recorder* recorder) {
    std::optional<Recorder::Span> span;
    if (recorder) span.emplace(*recorder, file.filename().string());
    return detail::for_each_paper(file, 0, [&](Paper&& paper) { out.push(std::move(paper)); });
}

LoadHandle serial_channel_load(std::vector<fs::path> files, std::size_t capacity, Recorder* recorder) {
    return LoadHandle(capacity, [files = std::move(files), recorder](Channel<Paper>& out, ErrorLog& errors,
                                                                     std::stop_token) {
        // One producer, the files in order. A failing file is logged and the next one
        // starts; channel_closed (the consumer stopped) ends the driver, and the handle.
        for (auto& file : files) {
            try {
                load_paper_data(out, file, recorder);
            } catch (const load_error& e) {
                errors.add(e.details());
            }
        }
    });
}

LoadHandle threaded_channel_load(std::vector<fs::path> files, LoaderOptions options) {
    if (options.workers == 0) throw std::invalid_argument("threaded_channel_load: workers must be at least 1");
    return LoadHandle(options.capacity, [files = std::move(files), options](Channel<Paper>& out, ErrorLog& errors,
                                                                           std::stop_token) {
        // A pool of producers sharing one counter: each takes the next file until none
        // is left. The driver joins them all before returning, and only then does the
        // handle close the channel: it closes once, after the last producer.
        std::atomic<std::size_t> next_file{0};
        auto producer = [&] {
            for (std::size_t i; (i = next_file.fetch_add(1)) < files.size();) {
                try {
                    load_paper_data(out, files[i], options.recorder);
                } catch (const load_error& e) {
                    errors.add(e.details());
                } catch (const channel_closed&) {
                    return;   // the consumer is gone: stop taking files
                }
            }
        };
        std::vector<std::jthread> pool;
        unsigned threads = unsigned(std::min<std::size_t>(options.workers, files.size()));
        for (unsigned t = 0; t < threads; ++t) pool.emplace_back(producer);
    });   // ~jthread joins every producer here
}

}  // namespace course::loading
