#include "datasets/corpus.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <zlib.h>

#include "common/progress.hpp"
#include "datasets/sha256.hpp"
#include "datasets/vocabulary.hpp"

#ifndef COURSE_SOURCE_DIR
#error "COURSE_SOURCE_DIR must name the repository (set by datasets/CMakeLists.txt)"
#endif

namespace course::datasets {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------
// Randomness of our own: std::uniform_int_distribution and friends give different
// numbers with different standard libraries, which would break "same arguments ->
// same bytes" across machines. splitmix64 seeds xoshiro256**, and every draw below is
// plain integer arithmetic.
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        for (auto& word : s_) word = splitmix64(seed);
    }
    std::uint64_t next() {
        std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    // 0 <= value < n (multiply-high: fast and portable; the bias is below 2^-40 here).
    std::size_t below(std::size_t n) { return std::size_t((unsigned __int128)next() * n >> 64); }
    // Small values more likely than large ones (density falling linearly to 0).
    std::size_t below_skewed(std::size_t n) { return std::min(below(n), below(n)); }
    bool chance(unsigned percent) { return below(100) < percent; }
    template <class T>
    const T& pick(const std::vector<T>& items) { return items[below(items.size())]; }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

// Paper i of a corpus has a fixed 40-hex-digit id, so citations can name other papers
// of the same corpus without remembering them.
void append_paper_id(std::string& out, std::uint64_t seed, std::size_t index) {
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t state = seed * 0xd1342543de82ef95ULL + index;
    char id[48];
    for (int part = 0; part < 3; ++part) {
        std::uint64_t bits = splitmix64(state);
        for (int i = 0; i < 16; ++i) id[part * 16 + i] = hex[(bits >> (4 * i)) & 15];
    }
    out.append(id, 40);
}

void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(value));
    out.append(digits, std::size_t(n));
}

// Appends up to 4 ASCII letters of a word ("j.neur.1999...."): a DOI part must stay
// ASCII, and cutting a UTF-8 word at a byte count could split a character.
void append_ascii_code(std::string& out, std::string_view word) {
    std::size_t letters = 0;
    for (char c : word)
        if (c >= 'a' && c <= 'z' && letters < 4) out += c, ++letters;
    if (letters == 0) out += "misc";
}

// Appends a word, upper-casing its first letter when that is an ASCII letter.
void append_capitalised(std::string& out, std::string_view word) {
    std::size_t at = out.size();
    out += word;
    if (out[at] >= 'a' && out[at] <= 'z') out[at] = char(out[at] - 'a' + 'A');
}

// ---------------------------------------------------------------------------------
// One record, written straight into the output string as JSON. The field order is the
// one the real S2 files used; a loader must not depend on it.

class RecordWriter {
public:
    RecordWriter(std::uint64_t seed, std::size_t total_records)
        : words_(vocabulary()), seed_(seed), total_records_(total_records) {}

    void write(std::string& out, Rng& rng, std::size_t index, bool skip, SkipKind kind) const {
        bool medline = rng.chance(55);
        bool dblp = !medline && rng.chance(60);
        std::size_t year = 2020 - std::size_t(70 * double(rng.below_skewed(1000)) / 1000.0);

        out += "{\"entities\":[";
        std::size_t entities = rng.below_skewed(17);
        for (std::size_t e = 0; e < entities; ++e) {
            if (e) out += ',';
            out += '"', out += rng.pick(words_.entities), out += '"';
        }
        out += "],\"journalVolume\":\"";
        if (!rng.chance(20)) {
            append_number(out, 1 + rng.below(300));
            if (rng.chance(50)) out += ' ', append_number(out, 1 + rng.below(12));
        }
        out += "\",\"journalPages\":\"";
        if (!rng.chance(25)) {
            std::size_t first = 1 + rng.below(2000);
            append_number(out, first);
            out += '-';
            append_number(out, (first + 2 + rng.below(20)) % 100);
        }
        out += "\",\"pmid\":\"";
        if (medline) append_number(out, 1000000 + rng.below(29000000)), out += "v1";
        out += '"';
        if (!(skip && kind == SkipKind::missing_year)) out += ",\"year\":", append_number(out, year);

        out += ",\"outCitations\":[";
        append_citations(out, rng, rng.below_skewed(13));
        out += "],\"s2Url\":\"https://semanticscholar.org/paper/";
        append_paper_id(out, seed_, index);
        out += "\",\"id\":\"";
        append_paper_id(out, seed_, index);
        out += '"';

        if (!(skip && kind == SkipKind::missing_authors)) {
            out += ",\"authors\":[";
            std::size_t authors = (skip && kind == SkipKind::empty_authors) ? 0 : 1 + rng.below_skewed(8);
            for (std::size_t a = 0; a < authors; ++a) {
                if (a) out += ',';
                append_author(out, rng);
            }
            out += ']';
        }

        std::string_view journal = dblp ? std::string_view() : std::string_view(rng.pick(words_.journals));
        out += ",\"journalName\":\"", out += journal, out += '"';

        if (!(skip && kind == SkipKind::missing_abstract)) {
            out += ",\"paperAbstract\":\"";
            if (!(skip && kind == SkipKind::empty_abstract)) append_abstract(out, rng);
            out += '"';
        }
        out += ",\"inCitations\":[";
        append_citations(out, rng, std::min(rng.below_skewed(17), rng.below(17)));
        out += ']';
        if (!(skip && kind == SkipKind::missing_title)) {
            out += ",\"title\":\"";
            append_title(out, rng);
            out += '"';
        }
        out += ",\"doi\":\"";
        if (rng.chance(60)) {
            out += "10.";
            append_number(out, 1000 + rng.below(9000));
            out += "/j.";
            append_ascii_code(out, rng.pick(words_.content_words));
            out += '.';
            append_number(out, year);
            out += '.';
            append_number(out, 10 + rng.below(90));
            out += '.';
            append_number(out, 100 + rng.below(900));
        }
        out += "\",\"sources\":[";
        if (medline) out += "\"Medline\"";
        if (dblp) out += "\"DBLP\"";
        out += "],\"venue\":\"";
        out += dblp ? std::string_view(rng.pick(words_.conferences)) : journal;
        out += "\"}";
    }

private:
    void append_citations(std::string& out, Rng& rng, std::size_t count) const {
        for (std::size_t c = 0; c < count; ++c) {
            out += c ? ",\"" : "\"";
            append_paper_id(out, seed_, rng.below(total_records_));
            out += '"';
        }
    }

    void append_author(std::string& out, Rng& rng) const {
        out += "{\"name\":\"";
        std::size_t style = rng.below(10);
        if (style < 3) {  // initials only, as Medline writes them: "M B Landers"
            out += char('A' + rng.below(26));
            if (style == 0) out += ' ', out += char('A' + rng.below(26));
        } else {
            out += rng.pick(words_.first_names);
        }
        out += ' ';
        out += rng.pick(words_.last_names);
        out += "\",\"ids\":[";
        if (!rng.chance(5)) out += '"', append_number(out, 1000000 + rng.below(200000000)), out += '"';
        out += "]}";
    }

    // One word of running text: function words are frequent, content words skewed so
    // that some are common and most are rare (a crude Zipf).
    void append_word(std::string& out, Rng& rng, bool capital) const {
        const auto& list = rng.chance(42) ? words_.function_words : words_.content_words;
        auto word = list[rng.below_skewed(list.size())];
        if (capital)
            append_capitalised(out, word);
        else
            out += word;
    }

    void append_title(std::string& out, Rng& rng) const {
        std::size_t words = 5 + rng.below(11);
        for (std::size_t w = 0; w < words; ++w) {
            if (w) out += (w == 3 && rng.chance(10)) ? ": " : " ";
            append_word(out, rng, w == 0);
        }
        if (rng.chance(70)) out += '.';
    }

    // 120-250 words in sentences of 6-29 words, with commas, numbers, a parenthesis
    // now and then, and rarely a quoted term (escaped quotes in the JSON).
    void append_abstract(std::string& out, Rng& rng) const {
        std::size_t words = 120 + rng.below(131);
        std::size_t written = 0;
        while (written < words) {
            std::size_t sentence = std::min(6 + rng.below(24), words - written);
            if (words - written - sentence < 6) sentence = words - written;  // no stub at the end
            if (written) out += ' ';
            for (std::size_t w = 0; w < sentence; ++w) {
                if (w) out += ' ';
                std::size_t special = rng.below(200);
                if (w > 0 && special < 3) {
                    append_number(out, rng.below(1000));
                    if (special == 1) out += '.', append_number(out, rng.below(10)), out += " %";
                } else if (w > 0 && special == 3) {
                    out += "(n = ", append_number(out, 5 + rng.below(500)), out += ')';
                } else if (w > 0 && special == 4) {
                    out += "\\\"", append_word(out, rng, false), out += "\\\"";
                } else {
                    append_word(out, rng, w == 0);
                }
                if (w + 1 < sentence && rng.below(100) < 6) out += ',';
            }
            out += '.';
            written += sentence;
        }
    }

    const Vocabulary& words_;
    std::uint64_t seed_;
    std::size_t total_records_;
};

// ---------------------------------------------------------------------------------
// gzip output: deflate with a gzip wrapper (windowBits 16 + 15). zlib writes the
// gzip header itself with mtime 0 and no file name, so the bytes depend only on the
// input, the level and the zlib version.

class GzipFileWriter {
public:
    GzipFileWriter(const fs::path& path, int level) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
        if (!file_) throw std::runtime_error(path.string() + ": cannot create");
        if (deflateInit2(&strm_, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            std::fclose(file_);
            throw std::runtime_error(path.string() + ": deflateInit2 failed");
        }
    }
    ~GzipFileWriter() {
        deflateEnd(&strm_);
        if (file_) std::fclose(file_);
    }
    void write(std::string_view data) { pump(data, Z_NO_FLUSH); }
    // Finishes the gzip member and closes the file; returns the compressed size.
    std::uint64_t finish() {
        pump({}, Z_FINISH);
        if (std::fclose(std::exchange(file_, nullptr)) != 0)
            throw std::runtime_error(path_.string() + ": write failed");
        return compressed_;
    }
    std::string sha256() { return hash_.hex(); }

private:
    void pump(std::string_view data, int flush) {
        strm_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        strm_.avail_in = unsigned(data.size());
        int ret;
        do {
            strm_.next_out = out_;
            strm_.avail_out = sizeof out_;
            ret = deflate(&strm_, flush);
            std::size_t n = sizeof out_ - strm_.avail_out;
            if (n && std::fwrite(out_, 1, n, file_) != n) throw std::runtime_error(path_.string() + ": write failed");
            hash_.update(out_, n);
            compressed_ += n;
        } while (strm_.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
    }

    fs::path path_;
    std::FILE* file_;
    z_stream strm_{};
    unsigned char out_[1 << 16];
    Sha256 hash_;
    std::uint64_t compressed_ = 0;
};

// Level 1: deflate is most of the generator's time, and the corpus is a cache.
constexpr int compression_level = 1;
constexpr unsigned skip_percent = 8;
constexpr char manifest_name[] = "MANIFEST.json";

// A file is written under a temporary name and renamed into place when complete, so
// an interrupted run never leaves a half file under the real name.
fs::path temporary_name(const fs::path& path) {
    return fs::path(path.string() + ".tmp." + std::to_string(::getpid()));
}

CorpusFile generate_file(const fs::path& dir, const CorpusOptions& options, std::size_t file,
                         const RecordWriter& writer, const std::function<void(std::size_t)>& on_records) {
    std::size_t base = options.records / options.files, extra = options.records % options.files;
    std::size_t records = base + (file < extra ? 1 : 0);
    std::size_t first_index = file * base + std::min(file, extra);

    CorpusFile result;
    result.name = corpus_file_name(file);
    result.records = records;
    fs::path path = dir / result.name, temporary = temporary_name(path);

    std::uint64_t state = options.seed ^ (0x632be59bd9b4e019ULL * (file + 1));
    Rng rng(splitmix64(state));
    // Exactly round(8 %) of the file's records are to be skipped, chosen by selection
    // sampling (each record is picked with probability left_to_pick / left_to_see), and
    // their kinds rotate so all six appear in every file with 75 records or more.
    std::size_t to_skip = (records * skip_percent + 50) / 100, skipped = 0;

    struct RemoveUnlessRenamed {  // no half-written temporary left behind on an error
        fs::path path;
        ~RemoveUnlessRenamed() {
            std::error_code ec;
            fs::remove(path, ec);
        }
    } cleanup{temporary};
    GzipFileWriter gz(temporary, compression_level);
    std::string chunk;
    chunk.reserve(1 << 18);
    for (std::size_t r = 0; r < records; ++r) {
        bool skip = rng.below(records - r) < to_skip - skipped;
        auto kind = all_skip_kinds[(skipped + file) % skip_kind_count];
        writer.write(chunk, rng, first_index + r, skip, kind);
        chunk += '\n';
        if (skip) ++result.skipped[std::size_t(kind)], ++skipped;
        if (chunk.size() >= (1 << 18) - 8192) {
            result.uncompressed_bytes += chunk.size();
            gz.write(chunk);
            chunk.clear();
        }
        if (on_records && (r + 1) % 500 == 0) on_records(500);
    }
    if (on_records && records % 500) on_records(records % 500);
    result.uncompressed_bytes += chunk.size();
    gz.write(chunk);
    result.compressed_bytes = gz.finish();
    result.sha256 = gz.sha256();
    result.valid = records - skipped;
    fs::rename(temporary, path);
    return result;
}

nlohmann::ordered_json skip_json(const SkipCounts& counts) {
    nlohmann::ordered_json doc = nlohmann::ordered_json::object();
    for (auto kind : all_skip_kinds) doc[std::string(skip_kind_name(kind))] = counts[std::size_t(kind)];
    return doc;
}

SkipCounts skip_counts_from(const nlohmann::json& doc) {
    SkipCounts counts{};
    for (auto kind : all_skip_kinds) counts[std::size_t(kind)] = doc.at(std::string(skip_kind_name(kind))).get<std::size_t>();
    return counts;
}

}  // namespace

std::string_view skip_kind_name(SkipKind kind) {
    switch (kind) {
        case SkipKind::missing_abstract: return "missing_abstract";
        case SkipKind::empty_abstract: return "empty_abstract";
        case SkipKind::missing_authors: return "missing_authors";
        case SkipKind::empty_authors: return "empty_authors";
        case SkipKind::missing_year: return "missing_year";
        case SkipKind::missing_title: return "missing_title";
    }
    return "unknown";
}

std::vector<std::string> generate_papers(std::size_t count, std::uint64_t seed) {
    std::uint64_t state = seed ^ 0x5851f42d4c957f2dULL;
    Rng rng(splitmix64(state));
    RecordWriter writer(seed, std::max<std::size_t>(count, 1));
    std::vector<std::string> lines(count);
    for (std::size_t i = 0; i < count; ++i) writer.write(lines[i], rng, i, false, SkipKind::missing_title);
    return lines;
}

std::string gzip_bytes(std::string_view data, int level) {
    z_stream strm{};
    if (deflateInit2(&strm, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("gzip_bytes: deflateInit2 failed");
    std::string out(deflateBound(&strm, uLong(data.size())), '\0');
    strm.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    strm.avail_in = unsigned(data.size());
    strm.next_out = reinterpret_cast<Bytef*>(out.data());
    strm.avail_out = unsigned(out.size());
    int ret = deflate(&strm, Z_FINISH);
    out.resize(strm.total_out);
    deflateEnd(&strm);
    if (ret != Z_STREAM_END) throw std::runtime_error("gzip_bytes: deflate did not finish");
    return out;
}

std::string corpus_file_name(std::size_t file) {
    char name[40];
    std::snprintf(name, sizeof name, "s2-corpus-%02zu.gz", file);
    return name;
}

// --- the manifest -----------------------------------------------------------------

std::size_t CorpusManifest::records() const {
    std::size_t n = 0;
    for (auto& f : files) n += f.records;
    return n;
}
std::size_t CorpusManifest::valid() const {
    std::size_t n = 0;
    for (auto& f : files) n += f.valid;
    return n;
}
SkipCounts CorpusManifest::skipped() const {
    SkipCounts total{};
    for (auto& f : files)
        for (std::size_t k = 0; k < skip_kind_count; ++k) total[k] += f.skipped[k];
    return total;
}
std::uint64_t CorpusManifest::uncompressed_bytes() const {
    std::uint64_t n = 0;
    for (auto& f : files) n += f.uncompressed_bytes;
    return n;
}
std::uint64_t CorpusManifest::compressed_bytes() const {
    std::uint64_t n = 0;
    for (auto& f : files) n += f.compressed_bytes;
    return n;
}

nlohmann::ordered_json CorpusManifest::to_json() const {
    nlohmann::ordered_json doc;
    doc["generator"] = "course-datasets corpus";
    doc["version"] = version;
    doc["arguments"] = {{"records", options.records}, {"files", options.files}, {"seed", options.seed}};
    doc["format"] = "gzip JSON lines, one paper per line, Semantic Scholar open corpus (2018) field names";
    doc["total"] = {{"records", records()},
                    {"valid", valid()},
                    {"skipped", skip_json(skipped())},
                    {"uncompressed_bytes", uncompressed_bytes()},
                    {"compressed_bytes", compressed_bytes()}};
    auto& list = doc["files"] = nlohmann::ordered_json::array();
    for (auto& f : files)
        list.push_back({{"name", f.name},
                        {"records", f.records},
                        {"valid", f.valid},
                        {"skipped", skip_json(f.skipped)},
                        {"uncompressed_bytes", f.uncompressed_bytes},
                        {"compressed_bytes", f.compressed_bytes},
                        {"sha256", f.sha256}});
    return doc;
}

CorpusManifest CorpusManifest::from_json(const nlohmann::json& doc) {
    try {
        CorpusManifest m;
        m.version = doc.at("version").get<int>();
        auto& args = doc.at("arguments");
        m.options = {.records = args.at("records").get<std::size_t>(),
                     .files = args.at("files").get<std::size_t>(),
                     .seed = args.at("seed").get<std::uint64_t>()};
        for (auto& f : doc.at("files"))
            m.files.push_back({.name = f.at("name").get<std::string>(),
                               .records = f.at("records").get<std::size_t>(),
                               .valid = f.at("valid").get<std::size_t>(),
                               .skipped = skip_counts_from(f.at("skipped")),
                               .uncompressed_bytes = f.at("uncompressed_bytes").get<std::uint64_t>(),
                               .compressed_bytes = f.at("compressed_bytes").get<std::uint64_t>(),
                               .sha256 = f.at("sha256").get<std::string>()});
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("bad corpus manifest: ") + e.what());
    }
}

// --- generating and finding corpora --------------------------------------------------

CorpusManifest generate_corpus(const fs::path& dir, const CorpusOptions& options,
                               const std::function<void(std::size_t)>& progress, unsigned threads) {
    if (options.files == 0) throw std::runtime_error("generate_corpus: --files must be at least 1");
    fs::create_directories(dir);
    CorpusManifest manifest;
    manifest.version = corpus_generator_version;
    manifest.options = options;
    manifest.files.resize(options.files);

    // Files are independent (each has its own PRNG stream), so workers take whole
    // files from a shared counter and each writes its own slot of manifest.files: the
    // result is the same for any number of workers. The first error wins and is
    // rethrown here after every worker has stopped.
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = unsigned(std::min<std::size_t>(threads, options.files));
    const RecordWriter writer(options.seed, std::max<std::size_t>(options.records, 1));
    std::atomic<std::size_t> next_file{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
        for (std::size_t file; (file = next_file.fetch_add(1)) < options.files;) {
            try {
                manifest.files[file] = generate_file(dir, options, file, writer, progress);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                next_file = options.files;  // the others stop after their current file
            }
        }
    };
    {
        std::vector<std::jthread> workers;
        for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work);
        work();
    }  // the jthreads join here
    if (failure) std::rethrow_exception(failure);

    // The manifest goes last: its presence says the corpus is complete.
    fs::path path = dir / manifest_name, temporary = temporary_name(path);
    {
        std::ofstream out(temporary);
        out << manifest.to_json().dump(2) << '\n';
        if (!out.flush()) throw std::runtime_error(temporary.string() + ": write failed");
    }
    fs::rename(temporary, path);
    return manifest;
}

CorpusManifest read_manifest(const fs::path& dir) {
    fs::path path = dir / manifest_name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path.string() + ": cannot open (is this a generated corpus folder?)");
    try {
        return CorpusManifest::from_json(nlohmann::json::parse(in));
    } catch (const std::exception& e) {
        throw std::runtime_error(path.string() + ": " + e.what());
    }
}

CorpusManifest ensure_corpus(const fs::path& dir, const CorpusOptions& options, bool show_progress) {
    if (fs::exists(dir / manifest_name)) {
        try {
            auto manifest = read_manifest(dir);
            bool complete = manifest.version == corpus_generator_version && manifest.options == options;
            for (auto& f : manifest.files) {
                std::error_code ec;
                complete = complete && fs::file_size(dir / f.name, ec) == f.compressed_bytes && !ec;
            }
            if (complete) return manifest;
        } catch (const std::exception&) {
            // an unreadable manifest: generate again
        }
    }
    if (!show_progress) return generate_corpus(dir, options, {}, 0);
    ProgressBar bar("generating corpus " + dir.filename().string(), options.records);
    auto manifest = generate_corpus(dir, options, [&](std::size_t n) { bar.advance(n); }, 0);
    bar.finish();
    return manifest;
}

fs::path datasets_dir() { return fs::path(COURSE_SOURCE_DIR) / "datasets"; }

fs::path default_corpus_dir(const CorpusOptions& options) {
    return datasets_dir() / "cache" /
           ("corpus-" + std::to_string(options.records) + "-" + std::to_string(options.files) + "-" +
            std::to_string(options.seed));
}

std::vector<fs::path> corpus_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".gz") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace course::datasets
