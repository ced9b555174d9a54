// Topic 09: your distributed histogram, word count and remote take. See README.md in
// this folder for the rules, mpi.hpp for the API.
//
// Boost.MPI: <boost/mpi/collectives.hpp> has all_reduce, reduce, gather, broadcast;
// comm.send / comm.recv / comm.probe / comm.iprobe move one message (any type with a
// serialize function: std::vector<Paper> included).
#include "mpi.hpp"

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/status.hpp>

namespace course::mpi {

std::map<int, std::uint64_t> year_histogram(const std::vector<std::filesystem::path>& files,
                                            const boost::mpi::communicator& comm, std::vector<LoadError>* errors) {
    throw course::not_implemented("year_histogram");
}

std::vector<std::pair<std::string, std::uint64_t>> distributed_word_count(
    const std::vector<std::filesystem::path>& files, const boost::mpi::communicator& comm, std::size_t top_k,
    std::vector<LoadError>* errors) {
    throw course::not_implemented("distributed_word_count");
}

std::vector<Paper> remote_take(const std::vector<std::filesystem::path>& files, const boost::mpi::communicator& comm,
                               std::size_t n, const TakeOptions& options, TakeReport* report) {
    throw course::not_implemented("remote_take");
}

}  // namespace course::mpi
