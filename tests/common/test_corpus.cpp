// The corpus generator: deterministic to the byte, counts equal to its manifest, all
// six kinds of records to skip present, fields shaped as documented, UTF-8 intact.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "course_catch.hpp"
#include "temp_dir.hpp"
#include "datasets/corpus.hpp"
#include "datasets/sha256.hpp"

namespace fs = std::filesystem;
namespace ds = course::datasets;

using course::testing::TempDir;

namespace {

const fs::path sample_dir = fs::path(COURSE_SOURCE_DIR) / "datasets" / "samples" / "corpus";


// The test's own reading of the seed's rule: which kind of skip a record is, if any.
// Every record the generator marks has exactly one problem.
std::optional<ds::SkipKind> skip_kind_of(const nlohmann::json& paper) {
    using K = ds::SkipKind;
    if (!paper.contains("paperAbstract")) return K::missing_abstract;
    if (!paper.contains("authors")) return K::missing_authors;
    if (!paper.contains("year")) return K::missing_year;
    if (!paper.contains("title")) return K::missing_title;
    if (paper["authors"].empty()) return K::empty_authors;
    if (paper["paperAbstract"].get<std::string>().empty()) return K::empty_abstract;
    return std::nullopt;
}

std::size_t count_words(const std::string& text) {
    std::size_t words = 0;
    bool in_word = false;
    for (char c : text) {
        if (c == ' ') in_word = false;
        else if (!in_word) in_word = true, ++words;
    }
    return words;
}

// Reads a corpus folder and checks it against its manifest, file by file.
void check_against_manifest(const fs::path& dir) {
    auto manifest = ds::read_manifest(dir);
    REQUIRE(manifest.files.size() == manifest.options.files);
    CHECK(manifest.records() == manifest.options.records);
    for (auto& file : manifest.files) {
        INFO(file.name);
        auto path = dir / file.name;
        CHECK(ds::sha256_file(path) == file.sha256);
        CHECK(fs::file_size(path) == file.compressed_bytes);

        course::GzipLineReader reader(path.string());
        std::string_view line;
        std::size_t valid = 0;
        ds::SkipCounts skipped{};
        while (reader.next(line)) {
            auto paper = nlohmann::json::parse(line);
            if (auto kind = skip_kind_of(paper))
                ++skipped[std::size_t(*kind)];
            else
                ++valid;
        }
        CHECK(reader.line_number() == file.records);
        CHECK(reader.bytes_out() == file.uncompressed_bytes);
        CHECK(valid == file.valid);
        CHECK(skipped == file.skipped);
    }
}

}  // namespace

TEST_CASE("sha256 gives the published digests") {
    CHECK(ds::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(ds::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(ds::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    ds::Sha256 pieces;  // fed in odd-sized pieces: the same digest
    std::string million(1000000, 'a');
    for (std::size_t at = 0; at < million.size(); at += 997) pieces.update(std::string_view(million).substr(at, 997));
    CHECK(pieces.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// The manifest's digests are pinned: a change of hashing code must not change them.
TEST_CASE("a shipped sample file keeps its published digest") {
    CHECK(ds::sha256_file(sample_dir / "s2-corpus-00.gz") ==
          "f0e1f92896d43fd4008a23653f693833de47458538e4b3878218932d2b1f36c6");
}

TEST_CASE("the same arguments give byte-identical files and another seed does not") {
    TempDir one, two, three;
    ds::CorpusOptions options{.records = 400, .files = 3, .seed = 11};
    auto first = ds::generate_corpus(one.path, options);
    auto second = ds::generate_corpus(two.path, options, {}, 2);  // two workers: same bytes
    REQUIRE(first.files.size() == 3);
    for (std::size_t f = 0; f < 3; ++f) {
        CHECK(first.files[f].sha256 == second.files[f].sha256);
        CHECK(ds::sha256_file(one.path / first.files[f].name) == first.files[f].sha256);
    }
    auto read = [](const fs::path& p) { std::ifstream in(p); return std::string(std::istreambuf_iterator<char>(in), {}); };
    CHECK(read(one.path / "MANIFEST.json") == read(two.path / "MANIFEST.json"));

    options.seed = 12;
    auto other = ds::generate_corpus(three.path, options);
    CHECK(other.files[0].sha256 != first.files[0].sha256);
}

TEST_CASE("a generated corpus has the counts its manifest states") {
    TempDir dir{"course-corpus-test"};
    auto manifest = ds::generate_corpus(dir.path, {.records = 1003, .files = 4, .seed = 2});
    CHECK(manifest.files[0].records == 251);  // 1003 = 251 + 3 * 250
    CHECK(manifest.files[3].records == 250);
    CHECK(manifest.files[3].name == "s2-corpus-03.gz");
    check_against_manifest(dir.path);
}

TEST_CASE("all six kinds of records to skip are present and about 8 percent skip") {
    TempDir dir{"course-corpus-test"};
    auto manifest = ds::generate_corpus(dir.path, {.records = 600, .files = 2, .seed = 3});
    for (auto& file : manifest.files)
        for (auto kind : ds::all_skip_kinds) {
            INFO(file.name << " " << ds::skip_kind_name(kind));
            CHECK(file.skipped[std::size_t(kind)] >= 1);
        }
    CHECK(manifest.records() - manifest.valid() == 48);  // 8 % of 600
}

TEST_CASE("the checked-in sample corpus matches its manifest") {
    auto manifest = ds::read_manifest(sample_dir);
    CHECK(manifest.files.size() == 2);
    CHECK(manifest.version == ds::corpus_generator_version);
    for (auto kind : ds::all_skip_kinds) CHECK(manifest.skipped()[std::size_t(kind)] >= 2);
    check_against_manifest(sample_dir);
    // And it holds exactly the lines the generator writes today (datasets/README.md has
    // the command). Lines, not gzip bytes: another zlib (zlib-ng, say) may compress the
    // same lines into other bytes.
    TempDir dir{"course-corpus-test"};
    auto again = ds::generate_corpus(dir.path, manifest.options);
    auto lines_of = [](const fs::path& path) {
        std::vector<std::string> lines;
        course::for_each_line(path.string(), [&](std::string_view line) { lines.emplace_back(line); });
        return lines;
    };
    for (auto& file : manifest.files) {
        INFO(file.name);
        CHECK(lines_of(dir.path / file.name) == lines_of(sample_dir / file.name));
    }
    CHECK(again.valid() == manifest.valid());
    CHECK(again.uncompressed_bytes() == manifest.uncompressed_bytes());
}

TEST_CASE("valid papers have the fields and sizes the documentation promises") {
    std::size_t papers = 0;
    for (auto& path : ds::corpus_files(sample_dir)) {
        course::for_each_line(path.string(), [&](std::string_view line) {
            auto paper = nlohmann::json::parse(line);
            for (auto field : {"id", "entities", "inCitations", "outCitations", "journalName", "journalVolume",
                               "journalPages", "venue", "pmid", "doi", "s2Url", "sources"})
                CHECK(paper.contains(field));
            if (skip_kind_of(paper)) return;
            ++papers;
            CHECK(paper["id"].get<std::string>().size() == 40);
            auto title_words = count_words(paper["title"].get<std::string>());
            CHECK(title_words >= 5);
            CHECK(title_words <= 15);
            CHECK(count_words(paper["paperAbstract"].get<std::string>()) >= 120);
            CHECK(paper["authors"].size() >= 1);
            CHECK(paper["authors"].size() <= 8);
            CHECK(paper["authors"][0]["name"].is_string());
            CHECK(paper["authors"][0]["ids"].is_array());
            CHECK(paper["year"].get<int>() >= 1950);
            CHECK(paper["year"].get<int>() <= 2020);
        });
    }
    CHECK(papers == ds::read_manifest(sample_dir).valid());
}

TEST_CASE("UTF-8 text round-trips through a JSON parser byte for byte") {
    std::size_t non_ascii_lines = 0;
    for (auto& path : ds::corpus_files(sample_dir)) {
        course::for_each_line(path.string(), [&](std::string_view line) {
            // Parse and write again: the same bytes, so names like "Łukasz" and escaped
            // quotes in abstracts survive exactly.
            CHECK(nlohmann::ordered_json::parse(line).dump() == line);
            for (unsigned char c : line)
                if (c >= 0x80) {
                    ++non_ascii_lines;
                    break;
                }
        });
    }
    CHECK(non_ascii_lines > 100);
    auto papers = ds::generate_papers(50, 9);
    CHECK(papers == ds::generate_papers(50, 9));
    for (auto& paper : papers) CHECK(nlohmann::json::accept(paper));
}

TEST_CASE("ensure_corpus reuses a complete corpus and regenerates a damaged one") {
    TempDir dir{"course-corpus-test"};
    ds::CorpusOptions options{.records = 120, .files = 2, .seed = 4};
    auto made = ds::ensure_corpus(dir.path, options, false);
    auto first = dir.path / made.files[0].name;
    auto stamp = fs::last_write_time(first);
    auto reused = ds::ensure_corpus(dir.path, options, false);
    CHECK(fs::last_write_time(first) == stamp);
    CHECK(reused.files[0].sha256 == made.files[0].sha256);

    fs::resize_file(first, 100);  // damaged: regenerated on the next call
    ds::ensure_corpus(dir.path, options, false);
    CHECK(ds::sha256_file(first) == made.files[0].sha256);

    options.records = 90;  // other arguments: regenerated
    auto changed = ds::ensure_corpus(dir.path, options, false);
    CHECK(ds::read_manifest(dir.path).options.records == 90);
    CHECK(changed.records() == 90);
}

TEST_CASE("the default corpus folder is in the git-ignored cache and names its arguments") {
    auto dir = ds::default_corpus_dir({.records = 120000, .files = 40, .seed = 1});
    CHECK(dir.filename() == "corpus-120000-40-1");
    CHECK(dir.parent_path().filename() == "cache");
    CHECK(dir.parent_path().parent_path() == ds::datasets_dir());
    CHECK(fs::exists(ds::datasets_dir() / "README.md"));
}
