// Section 4: where each rank ran, and what it did when. Every rank reports its host, its
// network namespace and what Open MPI was told to use; every rank sends rank 0 its
// timeline. On one machine all ranks share one namespace and talk through shared memory;
// launched into separate namespaces (./course run 09 --hosts cluster) each rank is a host
// of its own with its own network stack, and the ranks can only reach each other by TCP.
#include <fstream>
#include <iostream>
#include <set>

#include <boost/mpi/collectives.hpp>
#include <nlohmann/json.hpp>

#include "parts.hpp"

namespace lesson09 {

namespace {

// What each character of the picture means.
const std::vector<std::pair<char, const char*>> legend = {
    {'h', "histogram: counting"},      {'w', "word count: counting"},  {'-', "waiting for the slowest rank"},
    {'r', "a collective"},             {'a', "the API's functions"},    {'y', "waiting for the Python job"},
    {'T', "take(n)"},                  {'D', "drain"},                  {'b', "receiving batches"},
    {'8', "topic 08's loader"},        {'.', "asleep: other ranks work"}};

// One row per lane, time left to right; each column shows the phase that covers most of it.
void print_ranks_timeline(const std::vector<Timeline::Event>& events, int width) {
    if (events.empty()) return;
    double t0 = events.front().start, t1 = t0;
    std::vector<std::pair<int, std::string>> lanes;   // (rank, lane) in order
    for (const auto& e : events) {
        t0 = std::min(t0, e.start), t1 = std::max(t1, e.end);
        std::pair<int, std::string> lane{e.rank, e.lane};
        if (std::find(lanes.begin(), lanes.end(), lane) == lanes.end()) lanes.push_back(lane);
    }
    std::sort(lanes.begin(), lanes.end());
    const double column = (t1 - t0) / width;
    std::vector<std::string> rows(lanes.size(), std::string(std::size_t(width), ' '));
    std::vector<std::vector<double>> cover(lanes.size(), std::vector<double>(std::size_t(width), 0.0));
    std::set<char> used;
    for (const auto& e : events) {
        auto row = std::size_t(std::find(lanes.begin(), lanes.end(), std::make_pair(e.rank, e.lane)) - lanes.begin());
        for (int x = std::max(0, int((e.start - t0) / column)); x < width && t0 + x * column < e.end; ++x) {
            double from = std::max(e.start, t0 + x * column), to = std::min(e.end, t0 + (x + 1) * column);
            if (to - from > cover[row][std::size_t(x)]) {
                cover[row][std::size_t(x)] = to - from;
                rows[row][std::size_t(x)] = e.phase;
                used.insert(e.phase);
            }
        }
    }
    std::printf("  timeline 0 .. %.1f s, one column = %s\n", t1 - t0, course::format_duration(column).c_str());
    for (std::size_t i = 0; i < lanes.size(); ++i) {
        const auto& [rank, lane] = lanes[i];
        std::string name = "rank " + std::to_string(rank) + (lane.empty() ? "" : " " + lane);
        std::printf("    %-16s |%s|\n", name.c_str(), rows[i].c_str());
    }
    std::string key = "  ", line;
    for (const auto& [c, meaning] : legend) {
        if (!used.count(c)) continue;
        std::string item = std::string(1, c) + " " + meaning;
        if (line.size() + item.size() > 92) key += line + "\n  ", line.clear();
        line += (line.empty() ? "" : "   ") + item;
    }
    std::printf("%s%s\n", key.c_str(), line.c_str());
    std::fflush(stdout);
}

// Chrome trace events, pid = rank, one tid per lane of a rank, and names for both.
nlohmann::json trace_of(const std::vector<Timeline::Event>& events, const std::vector<Place>& places) {
    nlohmann::json out = nlohmann::json::array(), names = nlohmann::json::array();
    std::map<std::pair<int, std::string>, int> tids;
    for (const auto& e : events) {
        auto [it, fresh] = tids.try_emplace({e.rank, e.lane}, 0);
        if (fresh) {
            int n = 0;
            for (auto& [key, tid] : tids) n += key.first == e.rank;
            it->second = n;
            names.push_back({{"name", "thread_name"}, {"ph", "M"}, {"ts", 0}, {"dur", 0}, {"pid", e.rank},
                             {"tid", n}, {"args", {{"name", e.lane.empty() ? "main" : e.lane}}}});
        }
        out.push_back({{"name", e.name}, {"cat", std::string(1, e.phase)}, {"ph", "X"}, {"ts", e.start * 1e6},
                       {"dur", (e.end - e.start) * 1e6}, {"pid", e.rank}, {"tid", it->second},
                       {"args", {{"lane", e.lane.empty() ? "main" : e.lane}}}});
    }
    for (const auto& p : places)
        names.push_back({{"name", "process_name"}, {"ph", "M"}, {"ts", 0}, {"dur", 0}, {"pid", p.rank}, {"tid", 0},
                         {"args", {{"name", "rank " + std::to_string(p.rank) + " on " + p.host + " " + p.netns}}}});
    for (auto& n : names) out.push_back(std::move(n));   // after the events: schema checkers read those first
    return out;
}

}  // namespace

void hosts_section(course::Lesson& lesson, Job& job, Timeline& t, const std::string& trace_path) {
    const Place mine = where_am_i(job.world);
    std::vector<Place> places;
    bmpi::gather(job.world, mine, places, 0);
    std::vector<std::vector<Timeline::Event>> all;
    bmpi::gather(job.world, t.events(), all, 0);
    if (!job.root()) return;

    lesson.section("4. Where each rank ran, and what it did when");
    lesson.say("Host name and network namespace (readlink /proc/self/ns/net) of every rank; the ranks it");
    lesson.say("shares memory with, as MPI sees it (MPI_Comm_split_type SHARED); the transport to rank 0 that");
    lesson.say("follows from that and from Open MPI's btl/pml settings (read through MPI_T).");
    std::printf("  %4s  %-16s %-20s %8s  %-19s %s\n", "rank", "host", "network namespace", "pid", "shares memory with",
                "to rank 0");
    std::set<std::string> namespaces, hosts;
    for (const auto& p : places) {
        std::string with;
        for (const auto& q : places)
            if (q.node == p.node) with += (with.empty() ? "" : ",") + std::to_string(q.rank);
        std::printf("  %4d  %-16s %-20s %8ld  %-19s %s\n", p.rank, p.host.c_str(), p.netns.c_str(), p.pid,
                    with.c_str(), transport(p, places[0]).c_str());
        namespaces.insert(p.netns);
        hosts.insert(p.host + " " + p.netns);
    }
    std::printf("  Open MPI: btl \"%s\", pml \"%s\" (\"^a,b\" = every component but a and b)\n",
                places[0].btl.c_str(), places[0].pml.c_str());
    std::fflush(stdout);
    if (namespaces.size() == 1) {
        lesson.say("  Every rank shares one host and one network namespace: one machine" +
                   (places.size() > 1 ? ", " + transport(places[1], places[0]) + " between ranks." : "."));
        lesson.say("  To see separate hosts on this machine (as root): ./course cluster up 3, then ./course run 09");
        lesson.say("  --hosts cluster: each rank in a network namespace of its own, TCP between them.");
    } else {
        lesson.say("  " + std::to_string(namespaces.size()) + " network namespaces: as far as the network goes, " +
                   std::to_string(namespaces.size()) + " machines. Ranks in different namespaces");
        lesson.say("  cannot share memory; every message between them crosses a TCP connection.");
    }

    std::vector<Timeline::Event> events;
    for (auto& rank_events : all) events.insert(events.end(), rank_events.begin(), rank_events.end());
    lesson.say("\nEvery rank's run so far, one row per rank (and rank 0's receiver thread), time left to right:");
    print_ranks_timeline(events, 64);
    lesson.say("  (the per-batch detail, every rank as one process: the --trace file, in ui.perfetto.dev)");

    if (!trace_path.empty()) {
        auto parent = fs::path(trace_path).parent_path();
        if (!parent.empty()) fs::create_directories(parent);
        std::ofstream out(trace_path);
        out << nlohmann::json{{"traceEvents", trace_of(events, places)}, {"displayTimeUnit", "ms"}}.dump(1) << "\n";
        if (!out) throw std::runtime_error("cannot write " + trace_path);
        lesson.say("wrote " + trace_path + " (" + std::to_string(events.size()) + " events, pid = rank)");
    }
}

}  // namespace lesson09
