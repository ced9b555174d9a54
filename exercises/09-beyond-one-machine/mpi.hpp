// Topic 09: the corpus past one machine, on MPI (Open MPI through Boost.MPI).
//
// Every rank runs the same program (SPMD) on the same list of corpus files and takes its
// own share of them; what the ranks know together they learn from messages:
//
//   year_histogram          every rank counts its files, then all_reduce(std::plus):
//                           every rank holds the whole corpus's histogram
//   distributed_word_count  every rank counts its files' tokens, the maps meet on
//                           rank 0, which keeps the top k
//   remote_take             ranks 1..size-1 parse their files and stream the papers to
//                           rank 0 in batches; rank 0 takes n of them, then stops them:
//
//        rank 1 --PAPERS--> +
//        rank 2 --PAPERS--> +--> rank 0: take(n)     (credits back: at most `window`
//        rank 3 --PAPERS--> +      --CREDIT/STOP-->   batches unacknowledged each)
//
// What you write (exercises/09-beyond-one-machine/mpi.cpp): the three functions. What
// is given (this header): the error type of topic 08 made sendable, for_each_paper,
// the tags of remote_take's messages, TakeOptions and TakeReport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/map.hpp>

#include "common/not_implemented.hpp"
#include "loading.hpp"        // topic 08: Paper, parse_paper, LoadError
#include "paper_stream.hpp"   // topic 08: one file's papers to a callback

// Boost.Serialization for topic 08's types, so a Paper or a LoadError can be sent as it
// is (comm.send(dest, tag, paper), gather of a vector<LoadError>, ...).
namespace course::loading {
template <class Archive>
void serialize(Archive& ar, Paper& p, unsigned /*version*/) {
    ar & p.title & p.authors & p.year & p.abstract_tokens & p.loaded_by;
}
template <class Archive>
void serialize(Archive& ar, LoadError& e, unsigned /*version*/) {
    ar & e.file & e.line & e.message & e.recovered;
}
}  // namespace course::loading

namespace course::mpi {

using loading::LoadError;
using loading::Paper;

// Given: calls on_paper for every paper of one corpus file, in file order (topic 08's
// gzip reader and parse_paper; records the original loader skips are skipped). Returns
// the papers delivered. Throws loading::load_error, naming the file and the line, after
// delivering the papers before the bad spot.
inline std::size_t for_each_paper(const std::filesystem::path& file,
                                  const std::function<void(Paper&&)>& on_paper) {
    return loading::detail::for_each_paper(file, 0, on_paper);
}

// Every rank passes the same `files`, in the same order. The share of a rank is every
// file i with i % size == rank (remote_take: i % (size - 1) == rank - 1 on ranks 1..size-1;
// with one rank, rank 0 reads everything itself).
//
// A file that fails (corrupt gzip, a malformed line) does not stop the others: its papers
// before the failure count, and its LoadError (the file, the line, a message naming the
// file) reaches rank 0's `errors`, whichever rank read it, in the order of `files`. On
// other ranks `errors` is left empty. `errors` may be nullptr: then failures are ignored.

// The year histogram of the valid papers of all files (year -> papers), on EVERY rank.
std::map<int, std::uint64_t> year_histogram(const std::vector<std::filesystem::path>& files,
                                            const boost::mpi::communicator& comm,
                                            std::vector<LoadError>* errors = nullptr);

// The top_k tokens of all valid papers' abstracts (every token of topic 08's tokenizer,
// as it is: "the", "(", "Cells"), most frequent first, ties in increasing token order.
// Rank 0 gets the answer; every other rank gets an empty vector.
std::vector<std::pair<std::string, std::uint64_t>> distributed_word_count(
    const std::vector<std::filesystem::path>& files, const boost::mpi::communicator& comm, std::size_t top_k,
    std::vector<LoadError>* errors = nullptr);

// remote_take's messages, in both directions, on the call's own duplicate of `comm`
// (boost::mpi::communicator(comm, boost::mpi::comm_duplicate), which is MPI_Comm_dup):
enum Tag : int {
    papers = 101,   // producer -> 0: std::vector<Paper>, one batch (never empty)
    credit = 102,   // 0 -> producer: no body; "I took one of your batches: send one more"
    stop = 103,     // 0 -> producer: no body; "send nothing more"; the last thing 0 sends it
    done = 104,     // producer -> 0: std::vector<LoadError>, the producer's failed files;
                    // the last thing a producer sends
};

struct TakeOptions {
    std::size_t batch = 64;   // papers per PAPERS message (the last one may be shorter)
    std::size_t window = 4;   // batches a producer may have sent that rank 0 has not credited
};

// What remote_take did on this rank.
struct TakeReport {
    std::size_t papers_sent = 0;   // papers this rank sent (0 on rank 0)
    std::size_t batches_sent = 0;  // PAPERS messages this rank sent
    std::vector<LoadError> errors; // rank 0: every rank's failed files, in the order of
                                   // `files`; other ranks: empty
};

// Rank 0 returns the first n papers it received (all of them when there are fewer), each
// paper once, with loaded_by = the rank that parsed it; every other rank returns an empty
// vector once rank 0 has stopped it. No message of the call is left unreceived, and none
// of the next call's can be taken for one of this call's (the duplicate communicator).
std::vector<Paper> remote_take(const std::vector<std::filesystem::path>& files, const boost::mpi::communicator& comm,
                               std::size_t n, const TakeOptions& options = {}, TakeReport* report = nullptr);

}  // namespace course::mpi
