// Section 1: the stage limits. Before racing loaders, measure what one core can do at
// each stage on the same files: zlib alone, the JSON parser alone. A loader on one core
// does both, one after the other, for every byte, so its best possible rate is
//
//     1 / (1/decompress + 1/parse)          (MB/s; the single-core bound)
//
// and no amount of async on one thread can beat it.
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "parts.hpp"

namespace lesson08 {

std::vector<std::string> read_lines(const std::vector<fs::path>& files, std::uint64_t& bytes) {
    std::vector<std::string> lines;
    bytes = 0;
    for (auto& file : files)
        course::for_each_line(file.string(), [&](std::string_view line) {
            lines.emplace_back(line);
            bytes += line.size() + 1;
        });
    return lines;
}

namespace {

std::string number(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", x);
    return buf;
}
std::string rate(double mb_per_second) { return number(mb_per_second) + " MB/s"; }

}  // namespace

StageRates stage_limits(course::Lesson& lesson, Settings& s) {
    lesson.section("1. Stage limits: one core, one stage at a time");
    std::vector<fs::path> files(s.files.begin(), s.files.begin() + std::min(s.files.size(), s.stage_files));
    lesson.say("The same " + std::to_string(files.size()) +
               " files through each stage alone: gzip decompression (GzipLineReader, lines counted and");
    lesson.say("dropped), then JSON parsing of the same lines already in memory (nlohmann DOM), then");
    lesson.say("parse_paper (JSON + the four fields + sentence/token split). Rates are MB of JSON text per second.");

    StageRates rates;
    std::uint64_t bytes = 0;
    std::size_t lines = 0;
    // Best of s.repeats: the stage limits are the bounds of everything after, so
    // measure them at their best, the least disturbed by the rest of the machine.
    double t_decompress = course::best_of(int(s.repeats), [&] {
        bytes = 0, lines = 0;
        for (auto& file : files) {
            course::GzipLineReader reader(file.string());
            std::string_view line;
            while (reader.next(line)) bytes += line.size() + 1, ++lines;
        }
    });
    std::uint64_t text_bytes = 0;
    auto text = read_lines(files, text_bytes);

    std::size_t members = 0;
    double t_parse = course::best_of(int(s.repeats), [&] {
        for (auto& line : text) members += nlohmann::json::parse(line).size();
    });
    std::size_t papers = 0;
    double t_paper = course::best_of(int(s.repeats), [&] {
        papers = 0;
        for (auto& line : text) papers += course::loading::parse_paper(line).has_value();
    });

    const double mb = megabytes(bytes);
    rates.decompress = mb / t_decompress;
    rates.parse = mb / t_parse;
    rates.json[ParserKind::dom] = rates.parse;
    for (auto kind : available_parsers()) {   // the fast parsers' JSON part, for their loaders' bounds
        if (kind == ParserKind::dom) continue;
        auto only = parse_only_function(kind);
        double t = course::best_of(int(s.repeats), [&] {
            for (auto& line : text) members += only(line);
        });
        rates.json[kind] = mb / t;
    }
    rates.paper = mb / t_paper;
    rates.bytes_per_paper = papers ? double(bytes) / double(papers) : 1.0;
    if (s.bytes == 0)   // no manifest: estimate the corpus from the files measured
        s.bytes = std::uint64_t(double(bytes) * double(s.files.size()) / double(files.size()));

    course::ResultTable table("stage");
    auto add = [&](std::string variant, double seconds, double bound, std::string bound_is, double mbps) {
        auto& row = table.add({.variant = std::move(variant), .n = lines, .seconds = seconds,
                               .bound_seconds = bound, .bound = std::move(bound_is)});
        row.extra["mb_per_second"] = mbps;
        row.extra["megabytes"] = mb;
    };
    add("decompress", t_decompress, t_decompress, "(a limit)", rates.decompress);
    add("parse", t_parse, t_parse, "(a limit)", rates.parse);
    add("parse_paper", t_paper, t_parse, "parse alone", rates.paper);
    lesson.report(table);

    lesson.say("  decompress " + rate(rates.decompress) + ", parse " + rate(rates.parse) + ", parse_paper " +
               rate(rates.paper) + "  (" + std::to_string(lines) + " lines, " + number(mb) + " MB of JSON, " +
               std::to_string(papers) + " papers)");
    lesson.say("  single-core bound 1/(1/" + number(rates.decompress) + " + 1/" + number(rates.parse) + ") = " +
               rate(rates.pipeline()) + ": the whole corpus (" + number(megabytes(s.bytes)) + " MB) in " +
               course::format_seconds(megabytes(s.bytes) / rates.pipeline()) + " s at best on one core.");
    lesson.say(std::string("  The bottleneck is ") +
               (rates.parse < rates.decompress ? "parsing: it is the slower stage, so that is where a faster "
                                                 "parser (section 5) or more cores (sections 2-3) pay."
                                               : "decompression: the slower stage."));
    (void)members;
    return rates;
}

}  // namespace lesson08
