// Topic 09: year_histogram and distributed_word_count on 1, 2, 3 and 4 ranks.
// Each case names the README rule it guards.
#include <string>
#include <vector>

#include "course_catch.hpp"
#include "mpi_test_tools.hpp"
#include "paper_printing.hpp"

using namespace course::testing;
using course::mpi::distributed_word_count;
using course::mpi::year_histogram;

namespace {

// Files 0 and 2 good, 1 corrupt (read by rank 1 whenever there are 2+ ranks), 3 with a
// malformed line: two errors, in this order.
std::vector<fs::path> files_with_broken_ones() {
    auto good = sample_corpus();
    return {good.at(0), broken_fixture("corrupt.gz"), good.at(1), broken_fixture("malformed-json.gz")};
}

// The errors a rank got, compared with the single-process reading's.
std::string errors_verdict(const bmpi::communicator& comm, const std::vector<LoadError>& got) {
    if (comm.rank() != 0) return same(std::size_t(0), got.size(), "errors on a rank other than 0");
    std::vector<LoadError> expected;
    all_papers(files_with_broken_ones(), &expected);
    std::string v = same(expected.size(), got.size(), "number of errors on rank 0");
    for (std::size_t i = 0; v.empty() && i < got.size(); ++i) {
        v += same(expected[i].file, got[i].file, "error " + std::to_string(i) + ": file (in the order of `files`)");
        v += same(expected[i].line, got[i].line, "error " + std::to_string(i) + ": line");
        if (got[i].message.find(fs::path(expected[i].file).filename().string()) == std::string::npos)
            v += "error " + std::to_string(i) + ": the message should name the file, got " + got[i].message;
    }
    return v;
}

}  // namespace

// Rule: every rank returns the whole corpus's histogram, each file counted once.
TEST_CASE("year_histogram: every rank holds the whole corpus's histogram") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = shared_corpus(comm, dir.path, 1400, 7);   // 7 files: uneven on 2, 3 and 4 ranks
    auto got = on_rank(comm, "year_histogram", [&] { return year_histogram(files, comm); });
    every_rank_agrees(comm, same(serial_histogram(files), got, "histogram"));
}

// Rule: a rank whose share is empty still takes part in the reduction.
TEST_CASE("year_histogram: a rank without files still gets the histogram") {
    bmpi::communicator comm;
    auto files = sample_corpus();   // 2 files: on 3 and 4 ranks, ranks 2 and 3 read nothing
    auto got = on_rank(comm, "year_histogram", [&] { return year_histogram(files, comm); });
    every_rank_agrees(comm, same(serial_histogram(files), got, "histogram"));
}

// Rule: a broken file's papers before the failure count, the other files count whole,
// and its error reaches rank 0 (naming the file, in the order of `files`), whichever
// rank read it.
TEST_CASE("year_histogram: broken files are reported on rank 0 and everything else counts") {
    bmpi::communicator comm;
    auto files = files_with_broken_ones();
    std::vector<LoadError> errors;
    auto got = on_rank(comm, "year_histogram", [&] { return year_histogram(files, comm, &errors); });
    every_rank_agrees(comm, same(serial_histogram(files), got, "histogram") + errors_verdict(comm, errors));
}

// Rule: rank 0 gets the exact top k (count first, then token order); other ranks nothing.
TEST_CASE("distributed_word_count: rank 0 gets the exact top k, the other ranks nothing") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = shared_corpus(comm, dir.path, 1400, 7);
    auto got = on_rank(comm, "distributed_word_count", [&] { return distributed_word_count(files, comm, 40); });
    if (comm.rank() == 0) every_rank_agrees(comm, same(serial_top(files, 40), got, "top 40"));
    else every_rank_agrees(comm, same(decltype(got){}, got, "result on a rank other than 0"));
}

// Rule: the top k of the sum, not of each rank's own counts; ties in token order.
// File 0: gamma 3, beta 2. File 1: alpha 3, beta 2. Each file's own top word is gamma or
// alpha; the corpus's is beta (4), then alpha and gamma (3 each, alpha first).
TEST_CASE("distributed_word_count: the whole corpus's counts decide, ties in token order") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    std::vector<fs::path> files = {dir.path / "f0.gz", dir.path / "f1.gz"};
    if (comm.rank() == 0) {
        write_gzip_lines(files[0], {paper_line("g", "gamma gamma gamma beta beta")});
        write_gzip_lines(files[1], {paper_line("a", "alpha alpha alpha beta beta")});
    }
    comm.barrier();
    auto top1 = on_rank(comm, "distributed_word_count", [&] { return distributed_word_count(files, comm, 1); });
    auto top3 = on_rank(comm, "distributed_word_count", [&] { return distributed_word_count(files, comm, 3); });
    using Top = std::vector<std::pair<std::string, std::uint64_t>>;
    if (comm.rank() == 0)
        every_rank_agrees(comm, same(Top{{"beta", 4}}, top1, "top 1") +
                                    same(Top{{"beta", 4}, {"alpha", 3}, {"gamma", 3}}, top3, "top 3"));
    else
        every_rank_agrees(comm, "");
}

// Rule: top_k larger than the vocabulary gives every token; top_k = 0 gives none.
TEST_CASE("distributed_word_count: top_k beyond the vocabulary gives every token, 0 gives none") {
    bmpi::communicator comm;
    auto files = sample_corpus();
    auto all = on_rank(comm, "distributed_word_count", [&] { return distributed_word_count(files, comm, 1'000'000); });
    auto none = on_rank(comm, "distributed_word_count", [&] { return distributed_word_count(files, comm, 0); });
    if (comm.rank() == 0) {
        auto expected = serial_top(files, 1'000'000);
        std::string v = same(expected.size(), all.size(), "number of tokens with top_k = 1000000");
        if (v.empty()) v = same(expected, all, "every token");
        every_rank_agrees(comm, v + same(std::size_t(0), none.size(), "tokens with top_k = 0"));
    } else {
        every_rank_agrees(comm, "");
    }
}

// Rule: broken files as for year_histogram: errors on rank 0, the rest counts.
TEST_CASE("distributed_word_count: broken files are reported on rank 0 and everything else counts") {
    bmpi::communicator comm;
    auto files = files_with_broken_ones();
    std::vector<LoadError> errors;
    auto got = on_rank(comm, "distributed_word_count", [&] { return distributed_word_count(files, comm, 30, &errors); });
    std::string v = comm.rank() == 0 ? same(serial_top(files, 30), got, "top 30") : "";
    every_rank_agrees(comm, v + errors_verdict(comm, errors));
}
