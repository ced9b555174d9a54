// Section 1: SPMD in one picture. Every rank runs this same function; only the rank
// number differs, and it decides which files are this rank's:
//
//   rank 0: files 0, 2, 4, ...  --count years-->  { 1990: 1200, ... } --+
//                                                                       +-- all_reduce(+) --> every rank:
//   rank 1: files 1, 3, 5, ...  --count years-->  { 1990: 1187, ... } --+    the whole histogram
//
// Rank 0 listed the folder and broadcast the list (lesson.cpp): a rank on another machine
// that listed its own copy could see other files, or the same in another order, and then
// "file i" would not mean the same file on every rank.
#include <iostream>

#include <boost/mpi/collectives.hpp>

#include "parts.hpp"

namespace lesson09 {

namespace {

// "0, 2, 4, ... 38 (20 files)" for rank 0 of 2 with 40 files.
std::string share_text(std::size_t files, int rank, int size) {
    std::vector<std::size_t> mine;
    for (std::size_t i = std::size_t(rank); i < files; i += std::size_t(size)) mine.push_back(i);
    if (mine.empty()) return "none";
    std::string text;
    for (std::size_t j = 0; j < mine.size(); ++j) {
        if (j == 3 && mine.size() > 4) {
            text += ", ... " + std::to_string(mine.back());
            break;
        }
        text += (j ? ", " : "") + std::to_string(mine[j]);
    }
    return text + " (" + std::to_string(mine.size()) + " file" + (mine.size() == 1 ? "" : "s") + ")";
}

// Papers per decade, as a bar each.
void print_decades(const Histogram& h) {
    std::map<int, std::uint64_t> decades;
    std::uint64_t most = 1;
    for (const auto& [year, count] : h) most = std::max(most, decades[year / 10 * 10] += count);
    for (const auto& [decade, count] : decades)
        std::printf("    %ds %9s %s\n", decade, thousands(count).c_str(),
                    std::string(std::size_t(40.0 * double(count) / double(most) + 0.5), '#').c_str());
    std::fflush(stdout);
}

}  // namespace

void spmd_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f) {
    if (job.root()) {
        lesson.section("1. SPMD: one program, " + std::to_string(job.size) + " rank" + (job.size > 1 ? "s" : "") +
                       ", one file list");
        lesson.say("Every rank runs this same program. Rank 0 listed the corpus and broadcast the list; rank r");
        lesson.say("reads every file i with i % " + std::to_string(job.size) +
                   " == r, with topic 08's reader and parse_paper, and counts");
        lesson.say("papers per year; then all_reduce(std::plus) gives every rank the whole histogram.");
        lesson.say("Why round-robin and not a scatter of blocks or a coordinator handing files out: the corpus");
        lesson.say("files are alike in size, so the shares are even, and the rule costs no message at all. A");
        lesson.say("coordinator (topic 07) pays off only when tasks differ widely or machines do.");
        lesson.say("Bound of a rank: its own CPU seconds (the core to itself); of the whole: every rank's CPU");
        lesson.say("seconds spread over min(ranks, cores) = " + std::to_string(busy(job, unsigned(job.size))) + ".");
    }
    Reduction run = histogram_on(job.world, job.files, t);
    f.histogram = run.histogram;   // every rank holds it now
    f.last_histogram = run;

    // Does every rank really hold the same histogram? Each sends its copy to rank 0.
    std::vector<Histogram> copies;
    bmpi::gather(job.world, run.histogram, copies, 0);
    if (!job.root()) return;

    course::ResultTable table("spmd");
    for (const auto& c : run.ranks)
        table.add({.variant = "rank " + std::to_string(c.rank), .n = c.papers, .seconds = c.compute,
                   .bound_seconds = c.cpu, .bound = "own CPU", .workers = 1});
    auto& all = table.add({.variant = "all ranks", .n = run.papers(), .seconds = run.slowest(&RankCost::total),
                           .bound_seconds = run.cpu() / busy(job, unsigned(job.size)), .bound = "CPU/cores",
                           .workers = unsigned(job.size)});
    all.extra["communication_seconds"] = run.slowest(&RankCost::communicate);
    all.extra["cpu_seconds"] = run.cpu();
    bool same = true;
    for (const auto& copy : copies) same = same && copy == run.histogram;
    all.ok = same && (job.valid == 0 || run.papers() == job.valid);
    if (!all.ok)
        f.wrong.push_back("section 1: " + std::string(same ? "" : "the ranks' histograms differ; ") + "papers " +
                          std::to_string(run.papers()) + ", manifest " + std::to_string(job.valid));
    lesson.report(table);

    for (const auto& c : run.ranks) {
        std::printf("  rank %d: files %s, %s papers, %s s wall, %s s CPU\n", c.rank,
                    share_text(job.files.size(), c.rank, job.size).c_str(), thousands(c.papers).c_str(),
                    seconds_text(c.compute).c_str(), seconds_text(c.cpu).c_str());
        for (const auto& e : c.errors) std::printf("    %s\n", e.c_str());
    }
    f.papers = run.papers();
    f.cpu_per_paper = f.papers ? run.cpu() / double(f.papers) : 0;
    f.histogram_seconds = run.slowest(&RankCost::total);
    std::uint64_t bytes = 0;
    for (auto& c : run.ranks) bytes = std::max(bytes, c.bytes);
    std::printf("  the histogram: %zu years, %d..%d, %s papers; %s on every rank (all_reduce of %s per rank, %s)\n",
                run.histogram.size(), run.histogram.empty() ? 0 : run.histogram.begin()->first,
                run.histogram.empty() ? 0 : run.histogram.rbegin()->first, thousands(f.papers).c_str(),
                same ? "the same" : "NOT the same", bytes_text(double(bytes)).c_str(),
                course::format_duration(run.slowest(&RankCost::communicate)).c_str());
    std::printf("  one core parses a paper in %s (CPU): the unit of every bound in section 3\n",
                course::format_duration(f.cpu_per_paper).c_str());
    print_decades(run.histogram);
}

}  // namespace lesson09
