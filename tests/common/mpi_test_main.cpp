// The Catch2 main of the MPI test programs (topic 09): one Catch2 session per rank.
//
//   course-mpirun 09-...-tests "case name" --ranks 2   ->   mpiexec -n 2 ... the same
//
// `--ranks N` (taken off before Catch2 sees the arguments) says how many ranks the case
// expects; run with another number, the program says so and stops. Only rank 0 prints
// Catch2's report: the tests gather every rank's verdict to rank 0 (mpi_test_tools.hpp),
// and a rank that meets an exception prints it and aborts the whole job, so no rank is
// left waiting in a collective for one that has gone.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>

#include "common/open_mpi_sanitizer.hpp"   // Open MPI's own leaks, under ASan

int main(int argc, char** argv) {
    std::vector<char*> args;
    int expected = 0;
    bool listing = false;
    for (int i = 0; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--ranks" && i + 1 < argc) {
            expected = std::atoi(argv[++i]);
            continue;
        }
        if (arg.rfind("--list", 0) == 0) listing = true;
        args.push_back(argv[i]);
    }
    if (listing) return Catch::Session().run(int(args.size()), args.data());

    boost::mpi::environment env(argc, argv, boost::mpi::threading::serialized);
    boost::mpi::communicator world;
    if (expected != 0 && world.size() != expected) {
        if (world.rank() == 0)
            std::fprintf(stderr, "this case expects %d MPI ranks and runs on %d: start it with "
                                 "build/course-mpirun -n %d %s \"case name\"\n",
                         expected, world.size(), expected, argv[0]);
        return 2;
    }
    // Rank 0 reports; the other ranks' Catch2 output goes nowhere (their exceptions are
    // printed by the tests before they abort).
    std::string devnull = "/dev/null";
    char out_flag[] = "--out";
    if (world.rank() != 0) {
        args.push_back(out_flag);
        args.push_back(devnull.data());
    }
    return Catch::Session().run(int(args.size()), args.data());
}
