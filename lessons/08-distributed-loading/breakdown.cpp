// Where the serial loader's time goes, per paper. The producer thread does, for every
// paper, one after the other:
//
//   decompress -> JSON parse -> fields and skip rules -> tokenize -> push into the channel
//
// and the consumer's thread pops and frees it, on the other core. Each stage is timed
// alone on the same lines (the lines in memory, so only that stage runs), then the whole
// serial loader is timed: what it takes beyond the sum of its stages is the hand-off
// through the channel (locking, waking the consumer, the paper's memory moving to the
// other core's cache). Fields and skip rules are what a whole parse costs beyond JSON
// parse and tokenize; the rows add up to the loader's time by construction, and each
// row but those two is measured by itself.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/gzip_lines.hpp"
#include "parts.hpp"

namespace lesson08 {

namespace {

course::loading::LoadHandle serial_with(ParserKind kind, const std::vector<fs::path>& files, std::size_t capacity) {
    if (kind == ParserKind::dom) return course::loading::serial_channel_load(files, capacity);   // the exercise's
    return serial_load(files, capacity, nullptr, parse_function(kind));
}

struct Stages {
    double decompress = 0, parse = 0, fields = 0, tokenize = 0, handoff = 0;   // seconds, all papers
    double loader = 0;     // the serial loader, drained
    double consumer = 0;   // CPU seconds of the consumer's thread in that drain
    std::size_t papers = 0;
};

}  // namespace

void breakdown(course::Lesson& lesson, const Settings& s, const StageRates& rates) {
    std::vector<fs::path> files(s.files.begin(), s.files.begin() + std::min(s.files.size(), s.stage_files));
    std::uint64_t bytes = 0;
    const auto lines = read_lines(files, bytes);
    std::vector<std::string> abstracts;   // of the lines that become papers
    for (auto& line : lines)
        if (course::loading::parse_paper(line)) abstracts.push_back(nlohmann::json::parse(line)["paperAbstract"]);
    const double decompress = megabytes(bytes) / rates.decompress;   // section 1's best

    // Best of at least 3: the rows are differences of timings, so each must be steady.
    const int best = std::max(3, int(s.repeats));
    std::size_t sink = 0;
    const double tokenize = course::best_of(best, [&] {
        for (auto& a : abstracts) sink += course::loading::tokenize_abstract(a).size();
    });

    std::vector<ParserKind> kinds{ParserKind::dom};
    if (fastest_parser() != ParserKind::dom) kinds.push_back(fastest_parser());
    std::vector<Stages> measured;
    for (auto kind : kinds) {
        Stages st;
        st.papers = abstracts.size();
        st.decompress = decompress;
        auto only = parse_only_function(kind);
        auto whole = parse_function(kind);
        st.parse = course::best_of(best, [&] {
            for (auto& line : lines) sink += only(line);
        });
        const double parse_all = course::best_of(best, [&] {
            for (auto& line : lines) sink += whole(line).has_value();
        });
        st.tokenize = tokenize;
        st.fields = parse_all - st.parse - tokenize;
        st.loader = 1e300;
        for (int r = 0; r < best; ++r) {
            course::Stopwatch watch;
            const double cpu_before = thread_cpu_seconds();
            auto handle = serial_with(kind, files, s.capacity);
            std::size_t got = 0;
            while (handle.channel().pop()) ++got;
            const double t = watch.seconds();
            if (t < st.loader) st.loader = t, st.consumer = thread_cpu_seconds() - cpu_before;
            if (got != st.papers)
                throw std::runtime_error("breakdown: the serial loader delivered " + std::to_string(got) +
                                         " papers, parse_paper " + std::to_string(st.papers));
        }
        st.handoff = st.loader - (st.decompress + parse_all);
        measured.push_back(st);
    }

    lesson.say("\nWhere the serial loader's time goes, per paper (" + std::to_string(abstracts.size()) +
               " papers of the same files; each stage timed alone, the loader timed whole):");
    std::printf("  %-48s", "stage (producer thread, one after the other)");
    for (auto kind : kinds) std::printf(" | %9s %6s", parser_name(kind).c_str(), "share");
    std::printf("\n");
    auto row = [&](const char* name, double Stages::*field, bool share = true) {
        std::printf("  %-48s", name);
        for (auto& st : measured) {
            double ns = st.*field / double(st.papers) * 1e9;
            if (share) std::printf(" | %6.0f ns %5.0f%%", ns, 100.0 * (st.*field) / st.loader);
            else std::printf(" | %6.0f ns %6s", ns, "");
        }
        std::printf("\n");
    };
    row("decompress (zlib, GzipLineReader)", &Stages::decompress);
    row("JSON parse", &Stages::parse);
    row("fields and skip rules (derived: parse - rest)", &Stages::fields);
    row("tokenize (tokenize_abstract)", &Stages::tokenize);
    row("channel hand-off (derived: loader - the above)", &Stages::handoff);
    row("= the serial loader, measured", &Stages::loader);
    row("consumer: pop + free (its own thread, CPU)", &Stages::consumer, false);
    std::printf("  The hand-off is mostly the allocator: each paper's ~18 heap blocks, made by the producer,\n"
                "  are freed by the consumer's thread, back into the producer's malloc arena under its lock,\n"
                "  while the producer allocates there (docs/08 has this table with jemalloc preloaded).\n");
    std::cout.flush();

    for (std::size_t k = 0; k < kinds.size(); ++k) {
        const Stages& st = measured[k];
        const std::pair<const char*, double> parts[] = {{"decompress", st.decompress}, {"parse", st.parse},
                                                        {"fields", st.fields},         {"tokenize", st.tokenize},
                                                        {"handoff", st.handoff},       {"consumer", st.consumer}};
        for (auto& [name, seconds] : parts) {
            course::Measurement m{.experiment = "breakdown", .variant = parser_name(kinds[k]) + ": " + name,
                                  .n = st.papers, .seconds = seconds, .bound_seconds = st.loader,
                                  .bound = "serial loader"};
            m.extra["ns_per_paper"] = seconds / double(st.papers) * 1e9;
            m.extra["share"] = seconds / st.loader;
            lesson.record(m);
        }
    }
    (void)sink;
}

}  // namespace lesson08
