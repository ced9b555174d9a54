// Lesson 09: past one machine, on MPI. The corpus of topic 08, processed by N ranks:
// processes started together by mpiexec, maybe on N machines, sharing nothing but
// messages. Every rank runs this same program (SPMD); its rank number says which part of
// the work is its own.
//
//          mpiexec -n 3 lesson            (or across hosts: a hostfile, ssh / ip netns exec)
//        /        |          |
//    rank 0     rank 1     rank 2          each: the same main(), its own files
//      |  \_______|__________/|
//      |   collectives: all_reduce / reduce / gather     (sections 1, 2)
//      |
//      +<--PAPERS--- rank 1, rank 2        point to point: batches of papers into
//      +---CREDIT/STOP-->                  rank 0's Channel<Paper> (section 3)
//
// Sections: 1. SPMD: one file list, a share per rank, one histogram. 2. an array reduced
// vs a map reduced, on 1, 2 and 4 ranks, compute vs communication (and the same histogram
// from Python's mpi4py). 3. the original loader's RemoteChannel across ranks: take(n) and
// a full drain, beside topic 08's loader. 4. where each rank ran and a timeline of all of
// them. 5. the engines past one machine.
//
// Only rank 0 prints and writes --json and --trace; the other ranks send it what it
// needs. A rank that meets an error prints it with its rank and aborts the whole job:
// the others may be waiting for it inside a collective, and would wait forever.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <mpi.h>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/environment.hpp>

#include "datasets/corpus.hpp"
#include "parts.hpp"

#include "common/open_mpi_sanitizer.hpp"   // Open MPI's own leaks, under ASan

namespace {

namespace bmpi = boost::mpi;

// The command line each rank hands to course::Lesson. --trace is taken out on every rank:
// rank 0 writes the merged trace itself (pid = rank, section 4). --json only on rank 0.
std::vector<char*> lesson_arguments(int argc, char** argv, bool root, std::string& trace_path) {
    std::vector<char*> kept;
    for (int i = 0; i < argc; ++i) {
        std::string arg = argv[i];
        for (const std::string option : {"--trace", "--json"}) {
            if (option == "--json" && root) continue;
            if (arg == option && i + 1 < argc) {
                if (option == "--trace") trace_path = argv[i + 1];
                ++i, arg.clear();
            } else if (arg.rfind(option + "=", 0) == 0) {
                if (option == "--trace") trace_path = arg.substr(option.size() + 1);
                arg.clear();
            }
        }
        if (!arg.empty() || i == 0) kept.push_back(argv[i]);
    }
    kept.push_back(nullptr);
    return kept;
}

// Ranks other than 0 print nothing: stdout to /dev/null (std::cout goes through it
// too), std::cerr silenced (course::Lesson reports a bad option there: once is enough).
// A failure is still printed, with fprintf to stderr.
void quiet_rank() {
    if (!std::freopen("/dev/null", "w", stdout)) std::fprintf(stderr, "cannot silence stdout\n");
    static std::ofstream nowhere("/dev/null");
    std::cerr.rdbuf(nowhere.rdbuf());
}

std::vector<std::size_t> parse_list(const std::string& text, const char* option) {
    std::vector<std::size_t> out;
    std::istringstream list(text);
    for (std::string item; std::getline(list, item, ',');) {
        std::size_t used = 0;
        unsigned long n = 0;
        try {
            n = std::stoul(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || item.empty() || n == 0)
            throw std::invalid_argument(std::string(option) + ": \"" + item + "\" is not a positive number");
        out.push_back(n);
    }
    return out;
}

// The corpus: --data DIR, or the generated one. Rank 0 makes it (once, then it is
// cached) while the others sleep; then rank 0 lists it and broadcasts the list.
void find_corpus(lesson09::Job& job, const std::string& data) {
    std::vector<std::string> names;
    if (job.root()) {
        if (data.empty()) {
            course::datasets::CorpusOptions corpus;   // 120,000 records in 40 files
            if (job.quick) corpus = {.records = 12000, .files = 12, .seed = 1};
            job.dir = course::datasets::default_corpus_dir(corpus);
            std::cout << "corpus: " << job.dir.string()
                      << (std::filesystem::exists(job.dir / "MANIFEST.json") ? "" : " (generating it once)") << "\n";
            auto manifest = course::datasets::ensure_corpus(job.dir, corpus);
            job.valid = manifest.valid();
            job.bytes = manifest.uncompressed_bytes();
        } else {
            job.dir = data;
            if (!std::filesystem::is_directory(job.dir)) throw std::runtime_error("--data " + data + ": not a folder");
            if (std::filesystem::exists(job.dir / "MANIFEST.json")) {
                auto manifest = course::datasets::read_manifest(job.dir);
                job.valid = manifest.valid();
                job.bytes = manifest.uncompressed_bytes();
            }
        }
        for (auto& f : course::datasets::corpus_files(job.dir)) names.push_back(f.string());
        if (names.empty()) throw std::runtime_error(job.dir.string() + ": no *.gz files");
    }
    lesson09::polite_barrier(job.world);
    std::string dir = job.dir.string();
    bmpi::broadcast(job.world, dir, 0);
    bmpi::broadcast(job.world, names, 0);
    bmpi::broadcast(job.world, job.valid, 0);
    bmpi::broadcast(job.world, job.bytes, 0);
    job.dir = dir;
    job.files.assign(names.begin(), names.end());
}

std::string mpi_library() {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(text, &len);
    std::string first(text, std::size_t(len));
    first = first.substr(0, first.find_first_of("\n,"));
    return first;
}

}  // namespace

int main(int argc, char** argv) {
    // Open MPI spins while a rank waits inside a blocking call. When the ranks share the
    // cores with each other or with other work, a spinning rank keeps the core a working
    // rank needs: waiting ranks should yield it. Open MPI does so by itself only when it
    // knows the node is oversubscribed; here every rank asks for it before MPI starts (a
    // setting the user made, on the command line or in the environment, wins).
    ::setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    // serialized: any thread may call MPI, one at a time. Section 3 needs it: there rank 0's
    // receiver thread is the one that talks MPI, while the main thread only pops papers.
    bmpi::environment env(argc, argv, bmpi::threading::serialized);
    lesson09::Job job{.world = bmpi::communicator()};
    job.rank = job.world.rank();
    job.size = job.world.size();
    job.cores = std::max(1u, std::thread::hardware_concurrency());
    if (!job.root()) quiet_rank();

    std::string trace_path;
    std::vector<char*> args = lesson_arguments(argc, argv, job.root(), trace_path);
    course::Lesson lesson("09-beyond-one-machine", "the corpus on MPI ranks: SPMD, reductions, a RemoteChannel");
    std::string data, takes;
    std::size_t word_files = 0;
    lesson.add_options()
        ("data", po::value(&data)->value_name("DIR"),
         "a folder of *.gz JSON-lines files on every host (default: the generated corpus, 40 files; --quick 12)")
        ("take", po::value(&takes)->value_name("N,N,N"),
         "the n of section 3's take(n) (default 1000,10000,100000; --quick 100,1000,10000)")
        ("word-files", po::value(&word_files)->value_name("N"),
         "files the word count of section 2 reads (default 8; --quick 4)")
        ("batch", po::value(&job.take_options.batch)->value_name("N"), "papers per message in section 3 (default 64)")
        ("window", po::value(&job.take_options.window)->value_name("N"),
         "batches a producer may have unanswered (default 4)")
        ("capacity", po::value(&job.capacity)->value_name("N"), "rank 0's channel (default 1024)");

    lesson09::Figures f;
    int code = lesson.run(int(args.size()) - 1, args.data(), [&] {
        try {
            job.quick = lesson.quick();
            job.word_files = word_files ? word_files : lesson.quick() ? 4 : 8;
            job.takes = parse_list(!takes.empty() ? takes : lesson.quick() ? "100,1000,10000" : "1000,10000,100000",
                                   "--take");
            if (job.take_options.batch == 0 || job.take_options.window == 0 || job.capacity == 0)
                throw std::invalid_argument("--batch, --window and --capacity must be at least 1");
            if (env.thread_level() < bmpi::threading::serialized)
                throw std::runtime_error("this MPI gives threading level " + std::to_string(int(env.thread_level())) +
                                         ", section 3 needs serialized");
            find_corpus(job, data);
            if (job.root()) {
                std::cout << job.files.size() << " files";
                if (job.valid) std::cout << ", " << lesson09::thousands(job.valid) << " valid papers (manifest)";
                if (job.bytes) std::cout << ", " << lesson09::bytes_text(double(job.bytes)) << " uncompressed";
                std::cout << "\n" << job.size << " rank" << (job.size > 1 ? "s" : "") << " on " << job.cores
                          << " cores; " << mpi_library() << ", threads: serialized, waiting ranks yield: "
                          << (lesson09::open_mpi_setting("mpi_yield_when_idle") == "1" ? "yes" : "no") << "\n";
            }
            lesson09::Timeline t;
            t.set_rank(job.rank);
            job.world.barrier();   // a real barrier: every rank leaves it within microseconds
            t.start_now();         // the common start of every rank's timeline

            lesson09::spmd_section(lesson, job, t, f);
            lesson09::reductions_section(lesson, job, t, f);
            lesson09::python_section(lesson, job, t, f);
            lesson09::remote_channel_section(lesson, job, t, f);
            lesson09::hosts_section(lesson, job, t, trace_path);
            lesson09::engines_section(lesson, job);
        } catch (const std::exception& e) {
            std::fflush(stdout);
            std::fprintf(stderr, "\nlesson 09, rank %d of %d: %s\n(aborting the job: the other ranks could be "
                                 "waiting for this one)\n", job.rank, job.size, e.what());
            std::fflush(stderr);
            job.world.abort(1);
        }
        // Every rank got here: a wrong result is reported by rank 0 and fails the run.
        if (job.root() && !f.wrong.empty()) {
            std::string list;
            for (auto& w : f.wrong) list += "\n  " + w;
            throw std::runtime_error(std::to_string(f.wrong.size()) + " wrong result(s):" + list);
        }
    });
    return code;
}
