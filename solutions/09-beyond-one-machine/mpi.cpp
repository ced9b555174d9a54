// Topic 09, the reference solution. See mpi.hpp for the contract.
#include "mpi.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <stdexcept>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/nonblocking.hpp>
#include <boost/mpi/status.hpp>

namespace course::mpi {
namespace {

namespace fs = std::filesystem;
namespace bmpi = boost::mpi;

// The files of this rank: i % size == rank.
std::vector<std::size_t> my_share(std::size_t count, int rank, int size) {
    std::vector<std::size_t> mine;
    for (std::size_t i = std::size_t(rank); i < count; i += std::size_t(size)) mine.push_back(i);
    return mine;
}

// Reads one file with on_paper; a failure becomes a LoadError (papers before it counted).
void read_file(const fs::path& file, const std::function<void(Paper&&)>& on_paper,
               std::vector<std::pair<std::size_t, LoadError>>& failed, std::size_t index) {
    try {
        for_each_paper(file, on_paper);
    } catch (const loading::load_error& e) {
        failed.emplace_back(index, e.details());
    }
}

// Every rank's failures on rank 0, in the order of the files (gathered by file index).
void gather_errors(const bmpi::communicator& comm, const std::vector<std::pair<std::size_t, LoadError>>& mine,
                   std::vector<LoadError>* errors) {
    std::vector<std::vector<std::pair<std::size_t, LoadError>>> all;
    bmpi::gather(comm, mine, all, 0);
    if (comm.rank() != 0 || errors == nullptr) return;
    std::vector<std::pair<std::size_t, LoadError>> flat;
    for (auto& part : all) flat.insert(flat.end(), part.begin(), part.end());
    std::sort(flat.begin(), flat.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    errors->clear();
    for (auto& [index, error] : flat) errors->push_back(std::move(error));
}

// Adds b into a: the reduction of two word counts.
struct merge_counts {
    std::map<std::string, std::uint64_t> operator()(std::map<std::string, std::uint64_t> a,
                                                    const std::map<std::string, std::uint64_t>& b) const {
        for (const auto& [word, count] : b) a[word] += count;
        return a;
    }
};

}  // namespace

std::map<int, std::uint64_t> year_histogram(const std::vector<fs::path>& files, const bmpi::communicator& comm,
                                            std::vector<LoadError>* errors) {
    // Years of papers fall in a small range, but not a known one: count in a map, then
    // ship a dense array from the smallest to the largest year any rank saw.
    std::map<int, std::uint64_t> local;
    std::vector<std::pair<std::size_t, LoadError>> failed;
    for (std::size_t i : my_share(files.size(), comm.rank(), comm.size()))
        read_file(files[i], [&](Paper&& p) { ++local[p.year]; }, failed, i);

    int lo = local.empty() ? std::numeric_limits<int>::max() : local.begin()->first;
    int hi = local.empty() ? std::numeric_limits<int>::min() : local.rbegin()->first;
    int all_lo = 0, all_hi = 0;
    bmpi::all_reduce(comm, lo, all_lo, bmpi::minimum<int>());
    bmpi::all_reduce(comm, hi, all_hi, bmpi::maximum<int>());
    std::map<int, std::uint64_t> result;
    if (all_lo <= all_hi) {
        std::vector<std::uint64_t> dense(std::size_t(all_hi - all_lo + 1), 0), total(dense.size(), 0);
        for (const auto& [year, count] : local) dense[std::size_t(year - all_lo)] = count;
        bmpi::all_reduce(comm, dense.data(), int(dense.size()), total.data(), std::plus<std::uint64_t>());
        for (std::size_t y = 0; y < total.size(); ++y)
            if (total[y] != 0) result[all_lo + int(y)] = total[y];
    }
    gather_errors(comm, failed, errors);
    return result;
}

std::vector<std::pair<std::string, std::uint64_t>> distributed_word_count(const std::vector<fs::path>& files,
                                                                          const bmpi::communicator& comm,
                                                                          std::size_t top_k,
                                                                          std::vector<LoadError>* errors) {
    std::map<std::string, std::uint64_t> local;
    std::vector<std::pair<std::size_t, LoadError>> failed;
    for (std::size_t i : my_share(files.size(), comm.rank(), comm.size()))
        read_file(files[i], [&](Paper&& p) {
            for (const auto& sentence : p.abstract_tokens)
                for (const auto& token : sentence) ++local[token];
        }, failed, i);

    // The whole maps meet on rank 0 (a tree of merges): the top k of each rank's own
    // counts would be wrong, a word can be second everywhere and first in the sum.
    std::map<std::string, std::uint64_t> total;
    bmpi::reduce(comm, local, total, merge_counts(), 0);
    gather_errors(comm, failed, errors);
    if (comm.rank() != 0) return {};

    std::vector<std::pair<std::string, std::uint64_t>> ranked(total.begin(), total.end());
    auto by_count = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
    std::size_t k = std::min(top_k, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + std::ptrdiff_t(k), ranked.end(), by_count);
    ranked.resize(k);
    return ranked;
}

namespace {

// Ranks 1..size-1: parse the share, send batches while credits last, stop when told.
void produce(const std::vector<fs::path>& files, const bmpi::communicator& comm, const TakeOptions& options,
             TakeReport& report) {
    const int rank = comm.rank();
    std::size_t credits = options.window;
    bool stopped = false;
    // Reads rank 0's messages in the order it sent them (a STOP comes after every CREDIT
    // sent before it). wait: block for one message; otherwise take only what is there.
    auto hear = [&](bool wait) {
        while (!stopped) {
            boost::optional<bmpi::status> st = wait ? comm.probe(0, bmpi::any_tag) : comm.iprobe(0, bmpi::any_tag);
            if (!st) return;
            comm.recv(0, st->tag());
            if (st->tag() == Tag::credit) ++credits;
            else stopped = true;
            if (wait) return;
        }
    };
    std::vector<Paper> batch;
    auto send_batch = [&] {
        hear(false);
        while (!stopped && credits == 0) hear(true);
        if (stopped) return;
        comm.send(0, Tag::papers, batch);
        --credits;
        report.papers_sent += batch.size();
        ++report.batches_sent;
        batch.clear();
    };
    struct stop_reading {};
    std::vector<LoadError> failed;
    const std::size_t producers = std::size_t(comm.size() - 1);
    for (std::size_t i = std::size_t(rank - 1); i < files.size() && !stopped; i += producers) {
        try {
            for_each_paper(files[i], [&](Paper&& p) {
                p.loaded_by = rank;
                batch.push_back(std::move(p));
                if (batch.size() == options.batch) send_batch();
                if (stopped) throw stop_reading{};
            });
        } catch (const loading::load_error& e) {
            failed.push_back(e.details());
        } catch (const stop_reading&) {
        }
    }
    if (!batch.empty()) send_batch();
    comm.send(0, Tag::done, failed);
    while (!stopped) hear(true);   // STOP is the last message from rank 0: nothing is left behind
}

// Rank 0: credits each batch it still needs, stops everyone once it has n.
std::vector<Paper> consume(const std::vector<fs::path>& files, const bmpi::communicator& comm, std::size_t n,
                           TakeReport& report) {
    const int size = comm.size();
    std::vector<Paper> taken;
    std::vector<bool> stop_sent(std::size_t(size), false);
    int running = size - 1;
    std::vector<LoadError> failed;
    auto stop_everyone = [&] {
        for (int r = 1; r < size; ++r)
            if (!stop_sent[std::size_t(r)]) {
                comm.send(r, Tag::stop);
                stop_sent[std::size_t(r)] = true;
            }
    };
    if (n == 0) stop_everyone();
    while (running > 0) {
        bmpi::status st = comm.probe(bmpi::any_source, bmpi::any_tag);
        const int from = st.source();
        if (st.tag() == Tag::papers) {
            std::vector<Paper> batch;
            comm.recv(from, Tag::papers, batch);
            for (auto& p : batch)
                if (taken.size() < n) taken.push_back(std::move(p));
            if (taken.size() >= n) stop_everyone();
            else comm.send(from, Tag::credit);
        } else {
            std::vector<LoadError> errors;
            comm.recv(from, Tag::done, errors);
            failed.insert(failed.end(), errors.begin(), errors.end());
            --running;
            if (!stop_sent[std::size_t(from)]) {   // out of files: let it go now, not at the end
                comm.send(from, Tag::stop);
                stop_sent[std::size_t(from)] = true;
            }
        }
    }
    // In the order of the files: file i was read by rank 1 + i % (size - 1).
    std::vector<LoadError> ordered;
    for (const auto& f : files)
        for (const auto& e : failed)
            if (e.file == f.string()) ordered.push_back(e);
    for (const auto& e : failed)
        if (std::none_of(files.begin(), files.end(), [&](const fs::path& f) { return e.file == f.string(); }))
            ordered.push_back(e);
    report.errors = std::move(ordered);
    return taken;
}

}  // namespace

std::vector<Paper> remote_take(const std::vector<fs::path>& files, const bmpi::communicator& comm, std::size_t n,
                               const TakeOptions& options, TakeReport* report) {
    if (options.batch == 0 || options.window == 0)
        throw std::invalid_argument("remote_take: batch and window must be at least 1");
    TakeReport local;
    TakeReport& out = report ? *report : local;
    out = {};
    if (comm.size() == 1) {   // no one to stream from: rank 0 reads everything itself
        std::vector<Paper> taken;
        struct enough {};
        for (const auto& file : files) {
            if (taken.size() >= n) break;
            try {
                for_each_paper(file, [&](Paper&& p) {
                    if (taken.size() >= n) throw enough{};
                    p.loaded_by = 0;
                    taken.push_back(std::move(p));
                });
            } catch (const loading::load_error& e) {
                out.errors.push_back(e.details());
            } catch (const enough&) {
            }
        }
        return taken;
    }
    // The call's own communicator (MPI_Comm_dup): a producer that is already done may
    // start the next call and send its first batch while rank 0 still waits here for a
    // slower producer's DONE; on a duplicate, that batch cannot match this call's receives.
    const bmpi::communicator own(comm, bmpi::comm_duplicate);
    if (own.rank() == 0) return consume(files, own, n, out);
    produce(files, own, options, out);
    return {};
}

}  // namespace course::mpi
