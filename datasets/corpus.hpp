// The S2-like corpus: gzip JSON-lines files shaped like the Semantic Scholar open
// research corpus of 2018 (seed 000), generated deterministically.
//
//     generate_corpus(dir, {records, files, seed})
//         s2-corpus-00.gz  s2-corpus-01.gz  ...  (one paper per line)
//         MANIFEST.json    (per file: records, valid papers, skips by kind, bytes, sha256)
//
// About 8 % of the records are ones a loader must skip, spread evenly over the six
// kinds the seed's loader skips (SkipKind). datasets/README.md documents every field.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace course::datasets {

// Why a record is not a usable paper. The loader of seed 000 skips a record without
// title/authors/year/paperAbstract, with an empty author list, or with an abstract
// that has no tokens.
enum class SkipKind { missing_abstract, empty_abstract, missing_authors, empty_authors, missing_year, missing_title };
inline constexpr std::size_t skip_kind_count = 6;
inline constexpr std::array<SkipKind, skip_kind_count> all_skip_kinds = {
    SkipKind::missing_abstract, SkipKind::empty_abstract, SkipKind::missing_authors,
    SkipKind::empty_authors,    SkipKind::missing_year,   SkipKind::missing_title};
std::string_view skip_kind_name(SkipKind kind);  // "missing_abstract", ... (manifest keys)

using SkipCounts = std::array<std::size_t, skip_kind_count>;  // indexed by SkipKind

struct CorpusOptions {
    std::size_t records = 120000;  // over all files
    std::size_t files = 40;
    std::uint64_t seed = 1;
    bool operator==(const CorpusOptions&) const = default;
};

struct CorpusFile {
    std::string name;                  // "s2-corpus-00.gz"
    std::size_t records = 0;           // lines in the file
    std::size_t valid = 0;             // papers the loader keeps
    SkipCounts skipped{};              // records to skip, by kind
    std::uint64_t uncompressed_bytes = 0;
    std::uint64_t compressed_bytes = 0;
    std::string sha256;                // of the .gz file as written
};

struct CorpusManifest {
    int version = 0;  // corpus_generator_version of the generator that wrote it
    CorpusOptions options;
    std::vector<CorpusFile> files;
    std::size_t records() const;
    std::size_t valid() const;
    SkipCounts skipped() const;
    std::uint64_t uncompressed_bytes() const;
    std::uint64_t compressed_bytes() const;

    nlohmann::ordered_json to_json() const;
    static CorpusManifest from_json(const nlohmann::json& doc);  // throws std::runtime_error
};

// Bumped whenever the generator's output changes, so cached corpora are regenerated.
inline constexpr int corpus_generator_version = 1;

// Writes the corpus files and MANIFEST.json into dir (created if needed; existing
// files of the same names are replaced). progress(records_written) is called now and
// then, from the worker threads (make it thread-safe, as course::ProgressBar is).
// `threads` workers each write whole files (0: one per core); the files are the same
// whatever the number. Same options -> byte-identical files. Throws
// std::runtime_error on I/O errors.
CorpusManifest generate_corpus(const std::filesystem::path& dir, const CorpusOptions& options,
                               const std::function<void(std::size_t)>& progress = {}, unsigned threads = 1);

// Reads dir/MANIFEST.json; throws std::runtime_error naming the file if missing or bad.
CorpusManifest read_manifest(const std::filesystem::path& dir);

// The corpus lessons use: generated into dir (with a progress bar on a terminal, one
// thread per core) unless dir/MANIFEST.json is already there for the same options and
// generator version and every file has the size it states.
CorpusManifest ensure_corpus(const std::filesystem::path& dir, const CorpusOptions& options = {},
                             bool show_progress = true);

// <repo>/datasets, and the git-ignored cache folder for a generated corpus:
// <repo>/datasets/cache/corpus-<records>-<files>-<seed>.
std::filesystem::path datasets_dir();
std::filesystem::path default_corpus_dir(const CorpusOptions& options = {});

// The *.gz files of a folder, sorted by name: works for a generated corpus and for
// any folder of such files (the real corpus included).
std::vector<std::filesystem::path> corpus_files(const std::filesystem::path& dir);

// `count` valid papers as JSON lines (no '\n'), written like the corpus records: for
// fixtures, tests and examples. Same arguments -> same lines.
std::vector<std::string> generate_papers(std::size_t count, std::uint64_t seed);

// data compressed as one gzip member (deterministic: mtime 0, no name).
std::string gzip_bytes(std::string_view data, int level = 6);

// The name of corpus file number `file`: "s2-corpus-07.gz" (at least two digits).
std::string corpus_file_name(std::size_t file);

}  // namespace course::datasets
