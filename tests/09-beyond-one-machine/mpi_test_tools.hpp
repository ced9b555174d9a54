// How topic 09's tests run on several ranks at once (one Catch2 session per rank, see
// tests/common/mpi_test_main.cpp):
//
//   - every rank calls the function under test through on_rank(): an exception there is
//     printed with its rank and ABORTS the job (the other ranks may be waiting for this
//     one in a collective and would wait forever);
//   - every rank then turns what it got into a verdict, "" when right, else what it
//     expected and what it got; every_rank_agrees() gathers the verdicts to rank 0,
//     which checks each with the rank named. Only rank 0 asserts, so all ranks leave a
//     case together.
#pragma once

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "course_catch.hpp"
#include "datasets/corpus.hpp"
#include "mpi.hpp"
#include "temp_dir.hpp"

namespace course::testing {

namespace bmpi = boost::mpi;
namespace fs = std::filesystem;
using course::mpi::LoadError;
using course::mpi::Paper;

// Calls f(); an exception ends the whole job with the rank and the message printed.
template <typename F>
auto on_rank(const bmpi::communicator& comm, const char* what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nrank %d of %d: %s threw: %s\n(the job is aborted: the other ranks could be "
                             "waiting for this one)\n", comm.rank(), comm.size(), what, e.what());
        std::fflush(stderr);
        comm.abort(3);
    } catch (...) {
        std::fprintf(stderr, "\nrank %d of %d: %s threw an unknown exception\n", comm.rank(), comm.size(), what);
        std::fflush(stderr);
        comm.abort(3);
    }
    std::abort();   // abort() does not return
}

// Rank 0 checks every rank's verdict ("" = right) and names the rank that was wrong.
inline void every_rank_agrees(const bmpi::communicator& comm, const std::string& verdict) {
    std::vector<std::string> all;
    bmpi::gather(comm, verdict, all, 0);
    if (comm.rank() != 0) return;
    for (std::size_t r = 0; r < all.size(); ++r) {
        INFO("rank " << r << " of " << all.size());
        CHECK(all[r] == "");
    }
}

// A folder every rank sees: made by rank 0, its path broadcast, removed by rank 0 at
// the end (after a barrier: no rank still reads it).
class SharedDir {
public:
    explicit SharedDir(const bmpi::communicator& comm) : comm_(comm) {
        std::string where;
        if (comm.rank() == 0) {
            dir_.emplace("course-mpi-test");
            where = dir_->path.string();
        }
        bmpi::broadcast(comm, where, 0);
        path = where;
    }
    ~SharedDir() { comm_.barrier(); }   // then rank 0's TempDir removes the folder
    fs::path path;

private:
    const bmpi::communicator& comm_;
    std::optional<TempDir> dir_;
};

// Rank 0 writes a generated corpus into `dir`; every rank gets its file list.
inline std::vector<fs::path> shared_corpus(const bmpi::communicator& comm, const fs::path& dir,
                                           std::size_t records, std::size_t files) {
    if (comm.rank() == 0) datasets::generate_corpus(dir, {.records = records, .files = files, .seed = 9});
    comm.barrier();
    return datasets::corpus_files(dir);
}

inline std::vector<fs::path> sample_corpus() {
    return datasets::corpus_files(datasets::datasets_dir() / "samples" / "corpus");
}

inline fs::path broken_fixture(const std::string& name) { return datasets::datasets_dir() / "broken" / name; }

// The single-process answers, read with the given for_each_paper (not with the code
// under test). Errors: one per failed file, in file order.
inline std::vector<Paper> all_papers(const std::vector<fs::path>& files, std::vector<LoadError>* errors = nullptr) {
    std::vector<Paper> papers;
    for (const auto& f : files) {
        try {
            mpi::for_each_paper(f, [&](Paper&& p) { papers.push_back(std::move(p)); });
        } catch (const loading::load_error& e) {
            if (errors) errors->push_back(e.details());
        }
    }
    return papers;
}

inline std::map<int, std::uint64_t> serial_histogram(const std::vector<fs::path>& files) {
    std::map<int, std::uint64_t> h;
    for (const auto& p : all_papers(files)) ++h[p.year];
    return h;
}

inline std::vector<std::pair<std::string, std::uint64_t>> serial_top(const std::vector<fs::path>& files,
                                                                     std::size_t k) {
    std::map<std::string, std::uint64_t> counts;
    for (const auto& p : all_papers(files))
        for (const auto& s : p.abstract_tokens)
            for (const auto& t : s) ++counts[t];
    std::vector<std::pair<std::string, std::uint64_t>> v(counts.begin(), counts.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    if (v.size() > k) v.resize(k);
    return v;
}

// "" when equal, else both printed.
template <typename T>
std::string same(const T& expected, const T& got, const std::string& what) {
    if (expected == got) return "";
    return what + ": expected " + ::Catch::Detail::stringify(expected) + ", got " + ::Catch::Detail::stringify(got);
}

// A gzip corpus file written from JSON lines (for fixtures made in a test).
inline void write_gzip_lines(const fs::path& file, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    std::string gz = datasets::gzip_bytes(text, 1);
    std::FILE* f = std::fopen(file.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(gz.data(), 1, gz.size(), f);
    std::fclose(f);
}

// One corpus line with the given abstract (title unique by `id`).
inline std::string paper_line(const std::string& id, const std::string& abstract, int year = 2000) {
    return R"({"title": "paper )" + id + R"(", "authors": [{"name": "A. Author"}], "year": )" +
           std::to_string(year) + R"(, "paperAbstract": ")" + abstract + R"("})";
}

}  // namespace course::testing
