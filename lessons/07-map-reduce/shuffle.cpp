// Section 2: map -> shuffle -> reduce, made visible. A word count over the corpus with the
// topic's map_reduce on threads: one map task per file (M), R reduce partitions.
//
//   map task i: file i ──▶ emit("the", 1) emit("model", 1) emit("the", 1) ...
//                   │
//                   ├─ no combiner: every pair crosses the shuffle as it is
//                   └─ combiner: the task adds up its own pairs first ──▶ ("the", 2) ("model", 1)
//                   ▼
//   shuffle: the pair goes to partition partition_of(word, R): every pair of one word, from
//            every map task, meets in the same reduce task
//                   ▼
//   reduce task r: adds up each word's values ──▶ partition r's words, each exactly once
//
// What crosses the shuffle is counted two ways: the pairs map_reduce reports (Output::
// shuffled), and what those pairs would weigh as the intermediate files of section 3 store
// them (4 bytes of length, the word, 8 bytes of count). Both are predicted first from a
// serial count, file by file, so the pairs reported can be checked against the prediction.
#include <cstdio>

#include "parts.hpp"

namespace lesson07 {

namespace {

using Output = mr::Output<std::string, std::uint64_t>;

// What the shuffle would carry, predicted from the serial counts of each file.
struct ShuffleTraffic {
    std::uint64_t pairs = 0, bytes = 0;
};

// Every key of partition r must belong there, and the merged partitions must equal the
// serial count. Returns "" or what is wrong.
std::string check_output(const Settings& s, const Output& out) {
    for (std::size_t r = 0; r < out.partitions.size(); ++r)
        for (const auto& [word, count] : out.partitions[r])
            if (mr::partition_of(word, s.partitions) != r)
                return "\"" + word + "\" is in partition " + std::to_string(r) + ", it belongs in " +
                       std::to_string(mr::partition_of(word, s.partitions));
    auto merged = out.merged();
    return first_difference(s.reference_sorted, WordCounts(merged.begin(), merged.end()));
}

void print_top_words(const Counts& counts) {
    auto top = top_words(counts, 20);
    std::printf("  the top %zu words (of %s distinct):\n", top.size(), thousands(counts.size()).c_str());
    const std::size_t rows = (top.size() + 3) / 4;
    for (std::size_t r = 0; r < rows; ++r) {
        std::printf("  ");
        for (std::size_t c = 0; c < 4; ++c) {
            std::size_t i = c * rows + r;
            if (i < top.size()) std::printf("  %2zu. %-10s %10s", i + 1, top[i].first.c_str(), thousands(top[i].second).c_str());
        }
        std::printf("\n");
    }
}

}  // namespace

void shuffle_section(course::Lesson& lesson, Settings& s) {
    lesson.section("2. Map -> shuffle -> reduce, made visible: a word count over the corpus");
    const std::size_t m = s.files.size();

    // The serial reference: one file after another on this thread, a hash map per file
    // (what a map task with a combiner would hold), then merged.
    // It is the bound of everything after, so it is taken at its best: the fastest of a few runs.
    std::vector<Counts> per_file;
    std::uint64_t bytes = 0;
    const double serial = course::best_of(s.quick ? 3 : 2, [&] {
        per_file.assign(m, Counts{});
        bytes = 0;
        for (std::size_t i = 0; i < m; ++i)
            bytes += for_each_token(s.files[i], [&](const std::string& token) { ++per_file[i][token]; });
        s.reference.clear();
        for (const auto& counts : per_file)
            for (const auto& [word, count] : counts) s.reference[word] += count;
    });
    s.reference_sorted = sorted(s.reference);
    s.corpus_bytes = bytes;
    s.figures.serial_word_count = serial;

    ShuffleTraffic raw, combined;
    for (const auto& [word, count] : s.reference) {
        raw.pairs += count;
        raw.bytes += count * record_bytes(word);
    }
    for (const auto& counts : per_file)
        for (const auto& [word, count] : counts) {
            combined.pairs += 1;
            combined.bytes += record_bytes(word);
        }
    s.figures.tokens = raw.pairs;
    s.figures.combined_pairs = combined.pairs;
    s.figures.combined_bytes = combined.bytes;
    std::printf("  serial count: %s tokens, %s distinct words, %s of JSON read, in %s (%.0f MB/s)\n",
                thousands(raw.pairs).c_str(), thousands(s.reference.size()).c_str(), megabytes(bytes).c_str(),
                human(serial).c_str(), double(bytes) / 1e6 / serial);

    // The same count with map_reduce on W threads, with and without a combiner. The
    // mapper emits (token, 1); the reducer adds. Each map task is drawn on the timeline.
    course::Recorder rec;
    auto run = [&](bool combiner, bool draw) {
        auto mapper = [&](const fs::path& file, const mr::Emit<std::string, std::uint64_t>& emit) {
            std::optional<course::Recorder::Span> span;
            if (draw) span.emplace(rec, "map " + file.stem().string());
            for_each_token(file, [&](const std::string& token) { emit(token, 1); });
        };
        auto add = [](std::uint64_t a, std::uint64_t b) { return a + b; };
        Output out;
        double t = course::time_seconds([&] {
            out = mr::map_reduce<std::string, std::uint64_t>(
                s.files, mapper, add, {.workers = s.workers, .partitions = s.partitions, .combiner = combiner});
        });
        return std::pair{t, std::move(out)};
    };
    auto [t_combined, with] = run(true, true);
    auto [t_raw, without] = run(false, false);

    course::ResultTable table("word-count-threads");
    auto& ref = table.add({.variant = "serial (the reference)", .n = raw.pairs, .seconds = serial,
                           .bound_seconds = serial, .bound = "(reference)", .workers = 1});
    ref.extra["bytes"] = bytes;
    auto add_row = [&](const char* variant, double t, const Output& out, const ShuffleTraffic& predicted) {
        std::string problem = check_output(s, out);
        if (problem.empty() && out.shuffled != predicted.pairs)
            problem = std::to_string(out.shuffled) + " pairs shuffled, " + std::to_string(predicted.pairs) + " expected";
        if (!problem.empty()) s.wrong_result(std::string("section 2, ") + variant + ": " + problem);
        auto& row = table.add({.variant = variant, .n = raw.pairs, .seconds = t, .bound_seconds = serial / s.busy(s.workers),
                               .bound = "serial/w", .workers = s.workers, .ok = problem.empty()});
        row.extra["shuffled_pairs"] = out.shuffled;
        row.extra["shuffle_bytes"] = predicted.bytes;
        row.extra["partitions"] = s.partitions;
        row.extra["map_tasks"] = m;
    };
    add_row("map_reduce, combiner", t_combined, with, combined);
    add_row("map_reduce, no combiner", t_raw, without, raw);
    lesson.report(table);

    std::printf("  M = %zu map tasks, R = %u partitions. What crosses the shuffle:\n", m, s.partitions);
    std::printf("    no combiner   %12s pairs  %9s   every token as (word, 1)\n", thousands(without.shuffled).c_str(),
                megabytes(raw.bytes).c_str());
    std::printf("    combiner      %12s pairs  %9s   one pair per distinct word of each file: %s less\n",
                thousands(with.shuffled).c_str(), megabytes(combined.bytes).c_str(),
                times_x(double(raw.bytes) / double(std::max<std::uint64_t>(1, combined.bytes))).c_str());
    std::printf("  (bytes as the intermediate files store a pair: 4 + length + 8; the pair counts are map_reduce's\n"
                "  own, and equal the prediction from the serial count: %s)\n",
                with.shuffled == combined.pairs && without.shuffled == raw.pairs ? "yes" : "NO");
    std::string per_partition;
    for (std::size_t r = 0; r < with.partitions.size(); ++r)
        per_partition += (r ? ", " : "") + thousands(with.partitions[r].size());
    std::printf("  words per partition (partition_of = std::hash %% R): %s; each word in exactly one.\n",
                per_partition.c_str());
    std::printf("  Both results equal the serial count, word for word: %s\n",
                check_output(s, with).empty() && check_output(s, without).empty() ? "yes" : "NO");
    std::printf("  On threads the shuffle moves no bytes: the vectors of pairs only change hands. The combiner\n"
                "  leaves %s fewer pairs to hold in memory and to add in the reduce: %s with it, %s without.\n",
                times_x(double(without.shuffled) / double(std::max<std::size_t>(1, with.shuffled))).c_str(),
                human(t_combined).c_str(), human(t_raw).c_str());
    print_top_words(s.reference);

    lesson.say("  the map tasks of the combiner run, per thread (the reduce tasks follow the last map):");
    lesson.timeline(rec, "word-count-threads");
}

}  // namespace lesson07
