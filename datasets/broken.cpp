#include "datasets/broken.hpp"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "datasets/corpus.hpp"

namespace course::datasets {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out.flush()) throw std::runtime_error(path.string() + ": write failed");
}

std::string join_lines(const std::vector<std::string>& lines, std::size_t from, std::size_t to) {
    std::string text;
    for (std::size_t i = from; i < to; ++i) text += lines[i], text += '\n';
    return text;
}

// What GzipLineReader makes of a file: the lines it delivered and the error, if any.
struct ReadOutcome {
    std::vector<std::string> lines;
    std::string error;
};

ReadOutcome read_back(const fs::path& path) {
    ReadOutcome outcome;
    try {
        for_each_line(path.string(), [&](std::string_view line) { outcome.lines.emplace_back(line); });
    } catch (const gzip_error& e) {
        outcome.error = e.what();
    }
    return outcome;
}

std::string describe(const fs::path& path, const ReadOutcome& outcome) {
    std::string text = path.filename().string() + ": " + std::to_string(outcome.lines.size()) + " lines";
    if (!outcome.error.empty()) text += ", then gzip_error: " + outcome.error;
    return text;
}

}  // namespace

std::vector<std::string> write_broken_fixtures(const fs::path& dir) {
    fs::create_directories(dir);
    std::vector<std::string> report;
    const auto papers = generate_papers(60, broken_fixture_seed);
    const std::string all = join_lines(papers, 0, papers.size());

    // truncated.gz: the gzip of 60 papers cut in half (the trailer and the end of the
    // deflate stream are gone).
    {
        std::string gz = gzip_bytes(all);
        fs::path path = dir / "truncated.gz";
        write_file(path, gz.substr(0, gz.size() / 2));
        report.push_back(describe(path, read_back(path)));
    }

    // corrupt.gz: 16 bytes in the middle overwritten. Corruption is not always caught
    // where it happens (a changed literal only shows at the CRC check at the end), so
    // the first offset from the middle on where zlib stops at once with the good lines
    // before it intact is used: the fixture then tests "deliver the good lines, then
    // report", which is what a loader must do.
    {
        std::string gz = gzip_bytes(all);
        fs::path path = dir / "corrupt.gz";
        bool found = false;
        for (std::size_t at = gz.size() / 2; at + 16 < gz.size() && !found; at += 7) {
            std::string bad = gz;
            for (std::size_t i = 0; i < 16; ++i) bad[at + i] = char(0xff);
            write_file(path, bad);
            auto outcome = read_back(path);
            bool prefix_intact = outcome.lines.size() >= 10 && outcome.lines.size() < papers.size();
            for (std::size_t i = 0; prefix_intact && i < outcome.lines.size(); ++i)
                prefix_intact = outcome.lines[i] == papers[i];
            if (prefix_intact && outcome.error.find("corrupt gzip data") != std::string::npos &&
                outcome.error.find("incorrect data check") == std::string::npos) {
                found = true;
                report.push_back(describe(path, outcome) + " (16 bytes 0xff at offset " + std::to_string(at) + ")");
            }
        }
        if (!found) throw std::runtime_error("corrupt.gz: no offset gave an immediate data error");
    }

    // malformed-json.gz: 20 lines, line 8 cut off in the middle of the JSON object.
    {
        std::vector<std::string> lines(papers.begin(), papers.begin() + 20);
        lines[7] = lines[7].substr(0, lines[7].size() / 3);
        fs::path path = dir / "malformed-json.gz";
        write_file(path, gzip_bytes(join_lines(lines, 0, lines.size())));
        report.push_back(describe(path, read_back(path)) + " (line 8 is not valid JSON)");
    }

    // wrong-types.gz: 20 lines; line 5 has "year" as a string, line 12 "authors" as
    // one string of names instead of a list of {"name", "ids"}.
    {
        std::vector<std::string> lines(papers.begin(), papers.begin() + 20);
        auto five = nlohmann::ordered_json::parse(lines[4]);
        five["year"] = std::to_string(five["year"].get<int>());
        lines[4] = five.dump();
        auto twelve = nlohmann::ordered_json::parse(lines[11]);
        std::string names;
        for (auto& author : twelve["authors"]) names += (names.empty() ? "" : ", ") + author["name"].get<std::string>();
        twelve["authors"] = names;
        lines[11] = twelve.dump();
        fs::path path = dir / "wrong-types.gz";
        write_file(path, gzip_bytes(join_lines(lines, 0, lines.size())));
        report.push_back(describe(path, read_back(path)) + " (line 5: year is a string; line 12: authors is a string)");
    }

    // empty.gz: zero bytes.
    {
        fs::path path = dir / "empty.gz";
        write_file(path, "");
        report.push_back(describe(path, read_back(path)));
    }

    // not-gzip.gz: three papers as plain, uncompressed JSON lines.
    {
        fs::path path = dir / "not-gzip.gz";
        write_file(path, join_lines(papers, 0, 3));
        report.push_back(describe(path, read_back(path)));
    }

    // concatenated.gz (a good file): two gzip members one after the other, as
    // `cat a.gz b.gz` makes; 25 + 35 lines. gzip and zcat read it as one stream.
    {
        fs::path path = dir / "concatenated.gz";
        write_file(path, gzip_bytes(join_lines(papers, 0, 25)) + gzip_bytes(join_lines(papers, 25, 60)));
        report.push_back(describe(path, read_back(path)));
    }
    return report;
}

}  // namespace course::datasets
