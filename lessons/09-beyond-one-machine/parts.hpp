// What the sections of lesson 09 share. One idea per file in this folder:
//
//   lesson.cpp          the picture, the options, the corpus, main: every rank runs it all
//   ranks.cpp           the job's tools: the polite wait, sub-communicators, each rank's
//                       timeline, where a rank is (host, network namespace, transport)
//   spmd.cpp            1. SPMD: one file list, every rank its share, one histogram
//   reductions.cpp      2. an array reduced vs a map reduced, on 1, 2 and 4 ranks
//   python.cpp          2b. the same histogram from Python (mpi4py), if installed
//   remote_channel.cpp  3. the original loader's RemoteChannel: ranks -> rank 0's Channel
//   hosts.cpp           4. where each rank ran, and what it did when
//   engines.cpp         5. past one machine: MPI and the other engines
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <boost/mpi/communicator.hpp>

#include "common/lesson.hpp"
#include "mpi.hpp"   // the topic's API: year_histogram, distributed_word_count, remote_take

namespace lesson09 {

namespace bmpi = boost::mpi;
namespace fs = std::filesystem;
using course::Clock;
using Histogram = std::map<int, std::uint64_t>;                     // year -> papers
using TopWords = std::vector<std::pair<std::string, std::uint64_t>>;   // most frequent first

// ---------------------------------------------------------------- the job

// What every section knows about the job and this rank. Every rank holds one.
struct Job {
    bmpi::communicator world;       // every rank of the job
    int rank = 0, size = 1;
    unsigned cores = 1;             // of this machine (every rank is assumed to see the same)
    bool quick = false;
    bool root() const { return rank == 0; }

    // The corpus, the same on every rank (rank 0 lists it, then broadcasts the list).
    fs::path dir;
    std::vector<fs::path> files;
    std::size_t valid = 0;          // papers the manifest promises (0: no manifest)
    std::uint64_t bytes = 0;        // uncompressed bytes (0: unknown)

    std::vector<std::size_t> takes;   // section 3: the n of take(n)
    std::size_t word_files = 8;       // section 2: the word count reads the first this many files
    std::size_t capacity = 1024;      // section 3: rank 0's channel
    course::mpi::TakeOptions take_options;
};

// How many of `n` processes can run at the same moment here.
inline unsigned busy(const Job& job, unsigned n) { return std::max(1u, std::min(n, job.cores)); }

// ---------------------------------------------------------------- ranks.cpp

// Waits until every rank of comm has arrived, without spinning. Open MPI busy-polls
// inside a blocking call (a rank in comm.barrier() keeps a core at 100 %; yielding, as
// lesson.cpp asks, only helps if the scheduler has someone else to run), which on a
// 2-core machine steals the core from the rank that is working. So: a non-blocking
// barrier (MPI_Ibarrier), tested every millisecond, sleeping in between. For the ranks
// that sit out while others work: rank 0 alone, or the first k ranks of section 2.
void polite_barrier(const bmpi::communicator& comm);

// The communicator of the first k ranks of `world` (ranks k.. get an empty one, which
// is false in a test): comm.split(color), with MPI_UNDEFINED as the color of the rest.
bmpi::communicator first_ranks(const bmpi::communicator& world, int k);

// This rank's timeline. Every rank records its own phases; at the end rank 0 gathers
// them all (record times are sent as offsets from a common start, taken right after a
// barrier, so clocks of different machines need not agree).
class Timeline {
public:
    // phase: one character for the printed picture (see hosts.cpp), name: what it was.
    void add(char phase, std::string name, Clock::time_point start, Clock::time_point end,
             const std::string& lane = "");
    // RAII: the phase from construction to destruction, on this rank's main lane.
    class Phase {
    public:
        Phase(Timeline& t, char phase, std::string name) : t_(t), phase_(phase), name_(std::move(name)) {}
        ~Phase() { t_.add(phase_, std::move(name_), start_, Clock::now()); }
        Phase(const Phase&) = delete;
        Phase& operator=(const Phase&) = delete;

    private:
        Timeline& t_;
        char phase_;
        std::string name_;
        Clock::time_point start_ = Clock::now();
    };
    Phase phase(char phase, std::string name) { return Phase(*this, phase, std::move(name)); }

    void start_now() { origin_ = Clock::now(); }   // after the first barrier, on every rank

    struct Event {
        int rank = 0;
        std::string lane;     // "" = the rank's main thread
        std::string name;
        char phase = '?';
        double start = 0, end = 0;   // seconds since origin

        template <class Archive>
        void serialize(Archive& ar, unsigned /*version*/) {
            ar & rank & lane & name & phase & start & end;
        }
    };
    const std::vector<Event>& events() const { return events_; }
    void set_rank(int rank) { rank_ = rank; }

private:
    int rank_ = 0;
    Clock::time_point origin_ = Clock::now();
    std::vector<Event> events_;
};

// Where a rank runs: host name, network namespace, what Open MPI was told to use.
struct Place {
    int rank = 0;
    long pid = 0;
    std::string host;
    std::string netns;         // readlink /proc/self/ns/net: "net:[4026531840]"
    int node = 0;              // the lowest rank this rank shares memory with (MPI's own view)
    std::string btl, pml;      // Open MPI's "btl" and "pml" settings, read through MPI_T

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar & rank & pid & host & netns & node & btl & pml;
    }
};
Place where_am_i(const bmpi::communicator& world);
// One of Open MPI's settings ("btl", "pml", "mpi_yield_when_idle"); "" when there is none.
std::string open_mpi_setting(const char* name);
// How `from` reaches `to`, as Open MPI would choose it: "self", "shared memory (vader)",
// "TCP", or "UCX".
std::string transport(const Place& from, const Place& to);

// Numbers as the printed lines show them.
std::string seconds_text(double s);      // "1.234 s"-style, course::format_seconds
std::string thousands(std::uint64_t n);  // 120000 -> "120,000"
std::string bytes_text(double bytes);    // "612 B", "302 KB", "15.6 MB"
double thread_cpu_now();                  // CPU seconds of the calling thread (user + system)

// ---------------------------------------------------------------- reductions.cpp

// What one rank spent on one reduction. Phases, in order: compute (read the share,
// count), wait (a barrier: the time the slowest rank kept the others), communicate (the
// collective alone: every rank has arrived, so this is moving and merging the counts).
struct RankCost {
    int rank = 0;
    std::size_t files = 0, papers = 0;
    double compute = 0, cpu = 0, wait = 0, communicate = 0, total = 0;   // seconds
    std::uint64_t bytes = 0;           // what this rank hands to the collective
    std::vector<std::string> errors;   // files that failed (their papers before the bad spot count)

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar & rank & files & papers & compute & cpu & wait & communicate & total & bytes & errors;
    }
};

// One reduction on the ranks of a communicator. On its rank 0: every rank's costs.
struct Reduction {
    std::vector<RankCost> ranks;
    Histogram histogram;   // histogram_on: on every rank
    TopWords top;          // word_count_on: on rank 0
    std::size_t words = 0; // word_count_on: distinct words of the whole count, on rank 0
    std::size_t papers() const;
    double slowest(double RankCost::*phase) const;
    double cpu() const;    // the sum over the ranks
};

// The year histogram as the API computes it (every rank its files, i % size == rank;
// then all_reduce of a dense array of counts), with each phase timed.
Reduction histogram_on(const bmpi::communicator& comm, const std::vector<fs::path>& files, Timeline& t);
// The word count as the API computes it (every rank a map of its tokens; the maps
// reduced onto rank 0 by merging), with each phase timed; the top k on rank 0.
Reduction word_count_on(const bmpi::communicator& comm, const std::vector<fs::path>& files, std::size_t top_k,
                        Timeline& t);

// What one section hands to the next.
struct Figures {
    std::size_t papers = 0;          // section 1: valid papers counted
    double cpu_per_paper = 0;        // one core's parse time per paper (CPU seconds), section 1
    double histogram_seconds = 0;    // section 1: the histogram on every rank, wall
    Histogram histogram;             // section 1's answer: what every later one must equal
    Reduction last_histogram;        // section 1's run: section 2's row for every rank
    std::vector<std::string> wrong;  // results that differed: listed at the end, exit 1
};

// ---------------------------------------------------------------- the sections

void spmd_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f);             // 1
void reductions_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f);       // 2
void python_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f);           // 2b
void remote_channel_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f);   // 3
void hosts_section(course::Lesson& lesson, Job& job, Timeline& t,
                   const std::string& trace_path);                                         // 4
void engines_section(course::Lesson& lesson, const Job& job);                              // 5

}  // namespace lesson09
