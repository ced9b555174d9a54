// Topic 09 across hosts: run on 2 or more ranks, one per host of the course's
// network-namespace cluster (tests/common/check_multihost.sh makes one), it checks that
//
//   (a) the year histogram of the corpus, computed by the solution's
//       course::mpi::year_histogram over all ranks, equals the histogram one process
//       counts alone (and the manifest's count of valid papers), on every rank;
//   (b) the ranks ran on different hosts: each rank's network namespace
//       (readlink /proc/self/ns/net) differs from every other rank's and from the one
//       named by --not-netns (the machine's own, where mpirun runs).
//
//   mpi_netns_probe CORPUS_DIR [--not-netns 'net:[4026531840]']
//
// Rank 0 prints a line per rank and the verdict; every rank exits 0 when all is right,
// 1 otherwise (mpirun's exit code). An exception on any rank aborts the whole job: the
// other ranks may be waiting for it in a collective.
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "datasets/corpus.hpp"
#include "mpi.hpp"

#include "common/open_mpi_sanitizer.hpp"   // Open MPI's own leaks, under ASan

namespace {

namespace bmpi = boost::mpi;
namespace fs = std::filesystem;
using Histogram = std::map<int, std::uint64_t>;

std::string own_netns() {
    char buf[128] = {};
    ssize_t n = readlink("/proc/self/ns/net", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, std::size_t(n)) : std::string("?");
}

std::string own_hostname() {
    char buf[HOST_NAME_MAX + 1] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
}

std::uint64_t total(const Histogram& h) {
    std::uint64_t sum = 0;
    for (const auto& [year, count] : h) sum += count;
    return sum;
}

// One process, no MPI: every paper of every file, counted by year.
Histogram counted_alone(const std::vector<fs::path>& files) {
    Histogram h;
    for (const auto& file : files) course::mpi::for_each_paper(file, [&](course::mpi::Paper&& p) { ++h[p.year]; });
    return h;
}

struct RankReport {
    std::string netns, host;
    Histogram histogram;

    template <class Archive>
    void serialize(Archive& ar, unsigned /*version*/) {
        ar & netns & host & histogram;
    }
};

int run(const bmpi::communicator& world, const fs::path& corpus, const std::string& not_netns) {
    auto files = course::datasets::corpus_files(corpus);
    RankReport mine{own_netns(), own_hostname(), course::mpi::year_histogram(files, world)};
    std::vector<RankReport> all;
    bmpi::gather(world, mine, all, 0);

    int ok = 1;
    if (world.rank() == 0) {
        Histogram alone = counted_alone(files);
        std::uint64_t valid = course::datasets::read_manifest(corpus).valid();
        std::printf("%zu corpus files, %llu valid papers (manifest: %llu), %zu years\n", files.size(),
                    static_cast<unsigned long long>(total(alone)), static_cast<unsigned long long>(valid),
                    alone.size());
        if (files.empty() || total(alone) != valid) {
            std::printf("FAILED: the one-process histogram does not count the manifest's valid papers\n");
            ok = 0;
        }
        std::set<std::string> seen;
        for (std::size_t r = 0; r < all.size(); ++r) {
            const auto& report = all[r];
            bool same = report.histogram == alone;
            bool distinct = seen.insert(report.netns).second;
            bool away = report.netns != not_netns;
            std::printf("rank %zu: host %-12s network namespace %-18s histogram %s (%llu papers)%s%s\n", r,
                        report.host.c_str(), report.netns.c_str(), same ? "equal" : "DIFFERENT",
                        static_cast<unsigned long long>(total(report.histogram)),
                        distinct ? "" : "  SAME NAMESPACE AS ANOTHER RANK",
                        away ? "" : "  IN THE MACHINE'S OWN NAMESPACE");
            if (!same || !distinct || !away) ok = 0;
        }
        if (all.size() < 2) {
            std::printf("FAILED: run on at least 2 ranks, one per host\n");
            ok = 0;
        }
        std::printf("%s\n", ok ? "ok: the same histogram on every rank, every rank in a network namespace of its own"
                               : "FAILED");
    }
    bmpi::broadcast(world, ok, 0);
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    bmpi::environment env(argc, argv);
    bmpi::communicator world;
    if (argc != 2 && !(argc == 4 && std::string(argv[2]) == "--not-netns")) {
        if (world.rank() == 0)
            std::fprintf(stderr, "usage: %s CORPUS_DIR [--not-netns 'net:[N]']\n", argv[0]);
        return 2;
    }
    try {
        return run(world, argv[1], argc == 4 ? argv[3] : "");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d of %d: %s\n(the job is aborted: the other ranks could be waiting for this one)\n",
                     world.rank(), world.size(), e.what());
        std::fflush(stderr);
        world.abort(3);
    }
    return 3;
}
