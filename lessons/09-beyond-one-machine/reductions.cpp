// Section 2: two reductions and their price. The same SPMD pass, two kinds of result:
//
//   year histogram   every rank: { 1987: 412, 1988: 430, ... }   ~70 years
//                    -> all_reduce(std::plus) of a dense array: ~600 bytes per rank
//   word count       every rank: { "the": 61210, "cells": 912, ... }   ~16,000 words
//                    -> reduce(merge) onto rank 0: each map packed, sent, unpacked, merged
//
// Each on the first 1, 2 and 4 ranks (sub-communicators from comm.split; ranks left out
// wait politely), with its time cut in three: compute, waiting for the slowest rank,
// and the collective alone.
#include <algorithm>
#include <functional>
#include <iostream>
#include <limits>
#include <tuple>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/packed_oarchive.hpp>

#include "parts.hpp"

namespace lesson09 {

namespace {

using WordMap = std::map<std::string, std::uint64_t>;

// The papers of this rank's share (i % size == rank) through on_paper. A file that fails
// is reported in cost.errors; its papers before the bad spot were delivered.
template <class OnPaper>
void read_share(const bmpi::communicator& comm, const std::vector<fs::path>& files, RankCost& cost,
                OnPaper&& on_paper) {
    for (std::size_t i = std::size_t(comm.rank()); i < files.size(); i += std::size_t(comm.size())) {
        ++cost.files;
        try {
            course::mpi::for_each_paper(files[i], [&](course::mpi::Paper&& p) {
                ++cost.papers;
                on_paper(p);
            });
        } catch (const course::loading::load_error& e) {
            cost.errors.push_back(e.what());
        }
    }
}

// Runs compute, then a barrier, then communicate, timing each on this rank; gathers
// every rank's costs onto rank 0 of comm. compute and communicate are callables.
template <class Compute, class Communicate>
Reduction measured(const bmpi::communicator& comm, Timeline& t, char phase, const std::string& what,
                   Compute&& compute, Communicate&& communicate) {
    RankCost cost;
    cost.rank = comm.rank();
    comm.barrier();   // a common start: every rank of comm is here (they are all working)
    const auto t0 = Clock::now();
    const double cpu0 = thread_cpu_now();
    compute(cost);
    const auto t1 = Clock::now();
    cost.cpu = thread_cpu_now() - cpu0;
    comm.barrier();   // without it the collective would also count the wait for the slowest rank
    const auto t2 = Clock::now();
    Reduction result;
    communicate(cost, result);
    const auto t3 = Clock::now();
    auto seconds = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    cost.compute = seconds(t0, t1), cost.wait = seconds(t1, t2), cost.communicate = seconds(t2, t3);
    cost.total = seconds(t0, t3);
    const std::string on = " on " + std::to_string(comm.size()) + " rank" + (comm.size() > 1 ? "s" : "");
    t.add(phase, what + on + ": compute", t0, t1);
    t.add('-', what + on + ": waiting for the slowest rank", t1, t2);
    t.add('r', what + on + ": the collective", t2, t3);
    bmpi::gather(comm, cost, result.ranks, 0);
    return result;
}

}  // namespace

std::size_t Reduction::papers() const {
    std::size_t n = 0;
    for (auto& r : ranks) n += r.papers;
    return n;
}

double Reduction::slowest(double RankCost::*phase) const {
    double worst = 0;
    for (auto& r : ranks) worst = std::max(worst, r.*phase);
    return worst;
}

double Reduction::cpu() const {
    double sum = 0;
    for (auto& r : ranks) sum += r.cpu;
    return sum;
}

Reduction histogram_on(const bmpi::communicator& comm, const std::vector<fs::path>& files, Timeline& t) {
    Histogram local;
    return measured(
        comm, t, 'h', "histogram",
        [&](RankCost& cost) { read_share(comm, files, cost, [&](const course::mpi::Paper& p) { ++local[p.year]; }); },
        [&](RankCost& cost, Reduction& out) {
            // The years' span first (two tiny all_reduces), then one array over the span:
            // a reduction of plain numbers, which MPI adds up without any packing.
            int lo = local.empty() ? std::numeric_limits<int>::max() : local.begin()->first;
            int hi = local.empty() ? std::numeric_limits<int>::min() : local.rbegin()->first;
            int all_lo = 0, all_hi = 0;
            bmpi::all_reduce(comm, lo, all_lo, bmpi::minimum<int>());
            bmpi::all_reduce(comm, hi, all_hi, bmpi::maximum<int>());
            if (all_lo > all_hi) return;   // no papers anywhere
            std::vector<std::uint64_t> dense(std::size_t(all_hi - all_lo + 1), 0), total(dense.size(), 0);
            for (const auto& [year, count] : local) dense[std::size_t(year - all_lo)] = count;
            bmpi::all_reduce(comm, dense.data(), int(dense.size()), total.data(), std::plus<std::uint64_t>());
            for (std::size_t y = 0; y < total.size(); ++y)
                if (total[y] != 0) out.histogram[all_lo + int(y)] = total[y];
            cost.bytes = comm.size() > 1 ? 2 * sizeof(int) + dense.size() * sizeof(std::uint64_t) : 0;
        });
}

Reduction word_count_on(const bmpi::communicator& comm, const std::vector<fs::path>& files, std::size_t top_k,
                        Timeline& t) {
    WordMap local;
    Reduction result = measured(
        comm, t, 'w', "word count",
        [&](RankCost& cost) {
            read_share(comm, files, cost, [&](const course::mpi::Paper& p) {
                for (const auto& sentence : p.abstract_tokens)
                    for (const auto& token : sentence) ++local[token];
            });
        },
        [&](RankCost&, Reduction& out) {
            // A map is no MPI datatype: Boost.MPI packs it (Boost.Serialization), sends
            // the bytes up a tree of ranks, and each receiver unpacks and merges.
            WordMap total;
            bmpi::reduce(
                comm, local, total,
                [](WordMap a, const WordMap& b) {
                    for (const auto& [word, count] : b) a[word] += count;
                    return a;
                },
                0);
            if (comm.rank() != 0) return;
            out.words = total.size();
            out.top.assign(total.begin(), total.end());
        });
    // What this rank handed to the reduction: its map, packed (outside the timing).
    RankCost mine;
    if (comm.size() > 1) {
        bmpi::packed_oarchive packed(comm);
        packed << local;
        mine.bytes = packed.size();
    }
    std::vector<std::uint64_t> bytes;
    bmpi::gather(comm, mine.bytes, bytes, 0);
    if (comm.rank() == 0) {
        for (std::size_t r = 0; r < bytes.size(); ++r) result.ranks[r].bytes = bytes[r];
        auto by_count = [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        };
        std::size_t k = std::min(top_k, result.top.size());
        std::partial_sort(result.top.begin(), result.top.begin() + std::ptrdiff_t(k), result.top.end(), by_count);
        result.top.resize(k);
    }
    return result;
}

namespace {

struct Row {
    std::string reduction;
    int ranks;
    Reduction run;
};

// "0.0045 %", "0.56 %", "3.2 %", "42 %": small shares keep two significant digits.
std::string share_text(double fraction) {
    char buf[32];
    double p = fraction * 100;
    if (p > 0 && p < 0.01) std::snprintf(buf, sizeof buf, "%.2g %%", p);
    else std::snprintf(buf, sizeof buf, p < 1 ? "%.2f %%" : p < 10 ? "%.1f %%" : "%.0f %%", p);
    return buf;
}

void print_costs(const std::vector<Row>& rows) {
    std::printf("\n  Where the time went (the slowest rank of each phase):\n");
    std::printf("  %-11s %5s %10s %10s %14s %7s %20s\n", "reduction", "ranks", "compute", "waiting", "communication",
                "share", "bytes sent per rank");
    for (const auto& row : rows) {
        const auto& r = row.run;
        double total = r.slowest(&RankCost::total);
        std::uint64_t bytes = 0;
        for (auto& c : r.ranks) bytes = std::max(bytes, c.bytes);
        std::printf("  %-11s %5d %10s %10s %14s %7s %20s\n", row.reduction.c_str(), row.ranks,
                    course::format_duration(r.slowest(&RankCost::compute)).c_str(),
                    course::format_duration(r.slowest(&RankCost::wait)).c_str(),
                    course::format_duration(r.slowest(&RankCost::communicate)).c_str(),
                    share_text(total > 0 ? r.slowest(&RankCost::communicate) / total : 0).c_str(),
                    row.ranks > 1 ? bytes_text(double(bytes)).c_str() : "0 (alone)");
    }
    std::fflush(stdout);
}

}  // namespace

void reductions_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f) {
    std::vector<int> counts;
    for (int k : {1, 2, 4})
        if (k <= job.size) counts.push_back(k);
    const std::size_t word_count_files = std::min(job.word_files, job.files.size());
    const std::vector<fs::path> word_files(job.files.begin(), job.files.begin() + std::ptrdiff_t(word_count_files));
    if (job.root()) {
        lesson.section("2. Two reductions and their price: an array vs a map");
        lesson.say("The year histogram is an array of ~70 counts: all_reduce adds it up in place, a few hundred");
        lesson.say("bytes per rank. The word count is a map of every token: Boost.MPI packs each rank's map,");
        lesson.say("sends it up a tree of ranks, and every receiver unpacks and merges it. Each runs on the first");
        lesson.say("1, 2 and 4 ranks that exist (comm.split; the ranks left out wait without spinning). The word");
        lesson.say("count reads the first " + std::to_string(word_count_files) +
                   " files only: its maps, not its parsing, are the point.");
        lesson.say("Bound: the ranks' compute CPU seconds spread over min(ranks, cores): perfect sharing, free messages.");
        lesson.say("The last two rows are the topic's API (course::mpi) on every rank: the same answers.");
        if (job.size == 1) lesson.say("(1 rank: only the 1-rank rows; on 2 or 4 ranks the reductions cross ranks)");
    }

    std::vector<Row> rows;
    auto run_on = [&](const std::string& name, int k, const std::function<Reduction(const bmpi::communicator&)>& run) {
        Reduction result;
        // Section 1 already ran the histogram on every rank: its run is the last row.
        if (name == "histogram" && k == job.size) {
            result = f.last_histogram;
        } else {
            auto sub = first_ranks(job.world, k);
            if (sub) result = run(sub);
            auto idle = Clock::now();
            polite_barrier(job.world);
            if (!sub) t.add('.', "waiting: " + name + " on " + std::to_string(k) + " ranks", idle, Clock::now());
        }
        rows.push_back({name, k, std::move(result)});
    };
    for (int k : counts)
        run_on("histogram", k, [&](const bmpi::communicator& sub) { return histogram_on(sub, job.files, t); });
    for (int k : counts)
        run_on("word count", k, [&](const bmpi::communicator& sub) { return word_count_on(sub, word_files, 10, t); });

    // The topic's API itself, once, on every rank: it must give the same answers. Timed
    // from a common start; the CPU seconds of every rank summed on rank 0 for the bound.
    auto api_call = [&](const char* name, auto&& call) {
        job.world.barrier();
        auto phase = t.phase('a', std::string("course::mpi::") + name);
        course::Stopwatch watch;
        const double cpu0 = thread_cpu_now();
        auto result = call();
        const double seconds = watch.seconds(), cpu = thread_cpu_now() - cpu0;
        double cpu_sum = 0;
        bmpi::reduce(job.world, cpu, cpu_sum, std::plus<double>(), 0);
        return std::make_tuple(result, seconds, cpu_sum);
    };
    auto [api_histogram, api_histogram_seconds, api_histogram_cpu] =
        api_call("year_histogram", [&] { return course::mpi::year_histogram(job.files, job.world); });
    auto [api_top, api_top_seconds, api_top_cpu] = api_call("distributed_word_count", [&] {
        return course::mpi::distributed_word_count(word_files, job.world, 10);
    });
    if (!job.root()) return;

    course::ResultTable table("reduce");
    for (const auto& row : rows) {
        const auto& r = row.run;
        const std::string ranks = std::to_string(row.ranks) + " rank" + (row.ranks > 1 ? "s" : "");
        course::Measurement m{.variant = row.reduction + ", " + ranks, .n = r.papers(),
                              .seconds = r.slowest(&RankCost::total),
                              .bound_seconds = r.cpu() / busy(job, unsigned(row.ranks)), .bound = "CPU/cores",
                              .workers = unsigned(row.ranks)};
        if (row.reduction == "histogram") m.ok = r.histogram == f.histogram;
        else m.ok = r.top == rows[counts.size()].run.top;   // every word count equals the 1-rank one
        if (!m.ok) f.wrong.push_back(m.variant + ": differs");
        m.extra["compute_seconds"] = r.slowest(&RankCost::compute);
        m.extra["wait_seconds"] = r.slowest(&RankCost::wait);
        m.extra["communication_seconds"] = r.slowest(&RankCost::communicate);
        m.extra["communication_share"] = m.seconds > 0 ? r.slowest(&RankCost::communicate) / m.seconds : 0;
        std::uint64_t bytes = 0;
        for (auto& c : r.ranks) bytes = std::max(bytes, c.bytes);
        m.extra["bytes_per_rank"] = bytes;
        m.extra["cpu_seconds"] = r.cpu();
        table.add(std::move(m));
    }
    const Row& all_histogram = rows[counts.size() - 1];
    const Row& all_words = rows.back();
    auto api_row = [&](const std::string& variant, std::size_t n, double seconds, double cpu, bool ok) {
        course::Measurement m{.variant = variant, .n = n, .seconds = seconds,
                              .bound_seconds = cpu / busy(job, unsigned(job.size)), .bound = "CPU/cores",
                              .workers = unsigned(job.size), .ok = ok};
        m.extra["cpu_seconds"] = cpu;
        if (!ok) f.wrong.push_back(variant + ": differs from the lesson's own reduction");
        table.add(std::move(m));
    };
    api_row("API year_histogram", all_histogram.run.papers(), api_histogram_seconds, api_histogram_cpu,
            api_histogram == f.histogram);
    api_row("API distributed_word_count", all_words.run.papers(), api_top_seconds, api_top_cpu,
            api_top == all_words.run.top);
    lesson.report(table);
    std::cout.flush();
    print_costs(rows);

    // The speed-ups, and when a reduction is cheap.
    auto seconds_of = [&](const std::string& name, int k) {
        for (const auto& row : rows)
            if (row.reduction == name && row.ranks == k) return row.run.slowest(&RankCost::total);
        return 0.0;
    };
    for (int k : counts) {
        if (k == 1) continue;
        std::printf("  %d ranks: histogram %.2fx one rank%s, word count %.2fx one rank\n", k,
                    seconds_of("histogram", 1) / seconds_of("histogram", k),
                    k == 2 ? " (target: 1.7x on 2 cores)" : "",
                    seconds_of("word count", 1) / seconds_of("word count", k));
    }
    std::fflush(stdout);
    const int most = counts.back();
    if (most > 1) {
        auto cost = [&](const std::string& name) -> const Reduction& {
            for (const auto& row : rows)
                if (row.reduction == name && row.ranks == most) return row.run;
            return rows.front().run;
        };
        const Reduction &array = cost("histogram"), &map = cost("word count");
        auto share = [](const Reduction& r) {
            return share_text(r.slowest(&RankCost::communicate) / r.slowest(&RankCost::total));
        };
        std::printf("  On %d ranks the map (%s distinct words) moved %.0fx the bytes of the array and took %.0fx\n"
                    "  its time to reduce (packing, sending, unpacking, merging); next to the parsing before them,\n"
                    "  their shares of the run: %s and %s.\n",
                    most, thousands(map.words).c_str(),
                    double(map.ranks.back().bytes) / double(std::max<std::uint64_t>(1, array.ranks.back().bytes)),
                    map.slowest(&RankCost::communicate) / std::max(1e-9, array.slowest(&RankCost::communicate)),
                    share(array).c_str(), share(map).c_str());
        std::fflush(stdout);
    }
    lesson.say("  A reduction is cheap when what a rank sends is small next to what it computed first. An array");
    lesson.say("  of counts costs the same whatever the corpus; a map grows with the vocabulary (slower than the");
    lesson.say("  corpus, but it grows), and rank 0 merges one more map per rank. Send the smallest summary that");
    lesson.say("  is still right: each rank's own top 10 would be tiny, and wrong (a word can be second on every");
    lesson.say("  rank and first in the sum).");
    if (!rows.empty() && !rows.back().run.top.empty()) {
        std::string words = "  top words of the first " + std::to_string(word_files.size()) + " files:";
        for (std::size_t i = 0; i < std::min<std::size_t>(6, rows.back().run.top.size()); ++i)
            words += " \"" + rows.back().run.top[i].first + "\" " + thousands(rows.back().run.top[i].second);
        lesson.say(words);
    }
}

}  // namespace lesson09
