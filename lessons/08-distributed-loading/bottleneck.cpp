// Section 5: moving the bottleneck. Parsing is the slow stage, so make it faster:
//   - nlohmann's SAX interface: events instead of a tree, keeping only the four fields;
//   - simdjson's On-Demand API (where libsimdjson-dev is installed): walks the text,
//     materialising only the values asked for.
// Once parsing is faster than zlib, decompression is the limit: the serial loader
// cannot beat decompression alone, however fast the parser (Amdahl in action).
#include <cstdio>
#include <iostream>

#include "common/gzip_lines.hpp"
#include "parts.hpp"

namespace lesson08 {

void move_bottleneck(course::Lesson& lesson, const Settings& s, const StageRates& rates) {
    lesson.section("5. Moving the bottleneck: a faster parser, and decompression becomes the limit");
    std::vector<fs::path> files(s.files.begin(), s.files.begin() + std::min(s.files.size(), s.stage_files));
    std::uint64_t bytes = 0;
    auto lines = read_lines(files, bytes);
    const double mb = megabytes(bytes);
    lesson.say("The same " + std::to_string(files.size()) + " files; each parser builds the same Papers as parse_paper");
    lesson.say("(checked paper by paper on the first 2000 lines). Then a one-thread loader with each parser:");
    lesson.say("decompress + parse, the channel left out; its bound is decompression alone.");

    struct Parser {
        std::string name;
        ParseFn parse;
    };
    std::vector<Parser> parsers;
    for (auto kind : available_parsers()) parsers.push_back({parser_title(kind), parse_function(kind)});
#ifndef COURSE_HAVE_SIMDJSON
    lesson.say("  (simdjson not found at build time: its row is skipped; install libsimdjson-dev and rebuild.)");
#endif

    const double decompress_seconds = mb / rates.decompress;
    course::ResultTable parse_table("stage"), loader_table("bottleneck");
    for (auto& p : parsers) {
        bool same = true;
        for (std::size_t i = 0; i < std::min<std::size_t>(lines.size(), 2000); ++i)
            same = same && p.parse(lines[i]) == course::loading::parse_paper(lines[i]);
        std::size_t papers = 0;
        double t_parse = course::best_of(int(s.repeats), [&] {
            papers = 0;
            for (auto& line : lines) papers += p.parse(line).has_value();
        });
        auto& row = parse_table.add({.variant = "paper: " + p.name, .n = lines.size(), .seconds = t_parse,
                                     .bound_seconds = decompress_seconds, .bound = "decompress", .ok = same});
        row.extra["mb_per_second"] = mb / t_parse;

        // The whole single-thread pipeline: zlib, then this parser, line by line.
        std::size_t loaded = 0;
        double t_load = course::best_of(int(s.repeats), [&] {
            loaded = 0;
            for (auto& file : files) {
                course::GzipLineReader reader(file.string());
                std::string_view line;
                while (reader.next(line)) loaded += p.parse(line).has_value();
            }
        });
        auto& load = loader_table.add({.variant = "1 thread, " + p.name, .n = loaded, .seconds = t_load,
                                       .bound_seconds = decompress_seconds, .bound = "decompress",
                                       .ok = same && loaded == papers});
        load.extra["mb_per_second"] = mb / t_load;
        load.extra["decompress_share"] = decompress_seconds / t_load;
    }
    lesson.say("\nParsing alone (lines in memory), MB/s beside decompression's " +
               std::to_string(int(rates.decompress)) + " MB/s:");
    lesson.report(parse_table);
    lesson.say("\nThe one-thread loader with each parser (efficiency = share of the time that is decompression):");
    lesson.report(loader_table);
    for (auto& row : parse_table.rows())
        std::printf("  %-22s %5.0f MB/s: %s\n", row.variant.c_str(), row.extra["mb_per_second"].get<double>(),
                    row.extra["mb_per_second"].get<double>() > rates.decompress
                        ? "faster than zlib: decompression is now the limit"
                        : "slower than zlib: parsing is still the limit");
    std::cout.flush();
    lesson.say("Amdahl: with parsing nearly free, a one-thread loader can at best reach the decompression rate;");
    lesson.say("beyond that only more cores (or a faster codec) help.");
    for (auto& row : parse_table.rows())
        if (!row.ok) throw std::runtime_error(row.variant + " built different Papers than parse_paper");
}

}  // namespace lesson08
