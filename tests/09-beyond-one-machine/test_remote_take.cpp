// Topic 09: remote_take on 1, 2, 3 and 4 ranks. Each case names the README rule it guards.
#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "course_catch.hpp"
#include "mpi_test_tools.hpp"
#include "paper_printing.hpp"

using namespace course::testing;
using course::mpi::remote_take;
using course::mpi::TakeOptions;
using course::mpi::TakeReport;

namespace {

// What rank 0 should hold: `got` is a sub-multiset of the corpus's papers (a paper twice
// only where the corpus has it twice), of the expected size.
std::string papers_verdict(const std::vector<Paper>& corpus, std::vector<Paper> got, std::size_t expected_size) {
    std::string v = same(expected_size, got.size(), "papers on rank 0");
    std::multiset<Paper> pool(corpus.begin(), corpus.end());
    for (const auto& p : got) {
        auto it = pool.find(p);
        if (it == pool.end()) {
            v += "; a paper that is not in the corpus, or arrived more often than the corpus has it: " +
                 ::Catch::Detail::stringify(p);
            break;
        }
        pool.erase(it);
    }
    return v;
}

// The sum over all ranks of what each reported sending.
std::size_t total_sent(const bmpi::communicator& comm, const TakeReport& report) {
    std::size_t total = 0;
    bmpi::reduce(comm, report.papers_sent, total, std::plus<std::size_t>(), 0);
    return total;
}

// A corpus of many small papers (a few hundred bytes each, so a batch of 4 is one small
// message that MPI sends eagerly, without waiting for the receiver), 6 files.
std::vector<fs::path> small_papers_corpus(const bmpi::communicator& comm, const fs::path& dir) {
    std::vector<fs::path> files;
    for (int f = 0; f < 6; ++f) files.push_back(dir / ("small-" + std::to_string(f) + ".gz"));
    if (comm.rank() == 0) {
        std::mt19937_64 random(42);
        for (int f = 0; f < 6; ++f) {
            std::vector<std::string> lines;
            for (int i = 0; i < 9000; ++i) {
                std::string abstract;
                for (int w = 0; w < 14; ++w) abstract += std::to_string(random() % 1000000007) + " ";
                lines.push_back(paper_line(std::to_string(f) + "-" + std::to_string(i), abstract + "end."));
            }
            write_gzip_lines(files[std::size_t(f)], lines);
        }
    }
    comm.barrier();
    return files;
}

// The most batches producers may send for take(n): the batches rank 0 credits before it
// has n papers (each full, but one partial batch per producer), plus each producer's
// window, plus the one it may be building when the stop arrives.
std::size_t batch_bound(std::size_t n, const TakeOptions& o, int size) {
    std::size_t producers = std::size_t(size - 1);
    return (n + o.batch - 1) / o.batch + producers + producers * (o.window + 1);
}

}  // namespace

// Rule: with n at least the corpus, rank 0 gets every valid paper exactly once.
TEST_CASE("remote_take: n beyond the corpus delivers every valid paper exactly once") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = shared_corpus(comm, dir.path, 1400, 7);
    TakeReport report;
    auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, 1'000'000, {}, &report); });
    auto sent = total_sent(comm, report);
    if (comm.rank() == 0) {
        auto corpus = all_papers(files);
        std::size_t valid = course::datasets::read_manifest(dir.path).valid();
        std::string v = same(valid, corpus.size(), "(the fixture) valid papers") + papers_verdict(corpus, got, valid);
        if (comm.size() > 1) v += same(valid, sent, "papers the producers reported sending, together");
        every_rank_agrees(comm, v);
    } else {
        every_rank_agrees(comm, same(std::size_t(0), got.size(), "papers returned on a producer"));
    }
}

// Rule: rank 0 returns exactly n papers (no whole last batch), each once.
TEST_CASE("remote_take: take(n) returns exactly n distinct papers of the corpus") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = shared_corpus(comm, dir.path, 1400, 7);
    for (std::size_t n : {std::size_t(1), std::size_t(100), std::size_t(333)}) {
        auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, n, {.batch = 64}); });
        INFO("take(" << n << ") with batches of 64");
        every_rank_agrees(comm, comm.rank() == 0 ? papers_verdict(all_papers(files), got, n) : "");
    }
}

// Rule: with 2+ ranks the papers come from ranks 1..size-1, each from the rank whose
// share holds its file (file i: rank 1 + i % (size - 1)), loaded_by = that rank; with
// one rank, rank 0 reads everything (loaded_by = 0).
TEST_CASE("remote_take: every paper comes from the rank whose share holds its file") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = shared_corpus(comm, dir.path, 1400, 7);
    auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, 1'000'000); });
    std::string v;
    if (comm.rank() == 0) {
        std::map<Paper, int> owner;   // paper -> the rank that must send it
        for (std::size_t i = 0; i < files.size(); ++i)
            for (auto& p : all_papers({files[i]}))
                owner[p] = comm.size() == 1 ? 0 : 1 + int(i % std::size_t(comm.size() - 1));
        std::map<int, std::size_t> per_rank;
        for (const auto& p : got) {
            ++per_rank[int(p.loaded_by)];
            auto it = owner.find(p);
            if (it != owner.end() && it->second != p.loaded_by && v.empty())
                v = "paper \"" + p.title + "\" has loaded_by " + std::to_string(p.loaded_by) + "; its file is rank " +
                    std::to_string(it->second) + "'s share";
        }
        for (int r = comm.size() == 1 ? 0 : 1; r < comm.size(); ++r)
            if (per_rank[r] == 0) v += "; rank " + std::to_string(r) + " sent no paper";
        v += same(owner.size(), got.size(), "papers on rank 0");
    }
    every_rank_agrees(comm, v);
}

// Rule: once rank 0 has n papers it stops every producer; producers check between
// batches, so together they send only a few batches more than n needs.
TEST_CASE("remote_take: take(10) stops every producer early") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = small_papers_corpus(comm, dir.path);   // 54,000 papers
    TakeOptions options{.batch = 4, .window = 2};
    TakeReport report;
    auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, 10, options, &report); });
    auto sent = total_sent(comm, report);
    std::string v;
    if (comm.rank() == 0) {
        v = same(std::size_t(10), got.size(), "papers on rank 0");
        std::size_t bound = batch_bound(10, options, comm.size()) * options.batch;
        if (comm.size() > 1 && sent > bound)
            v += "; the producers sent " + std::to_string(sent) + " papers for take(10), at most " +
                 std::to_string(bound) + " expected: do they stop when rank 0 says so?";
    }
    every_rank_agrees(comm, v);
}

// Rule: a producer has at most `window` batches rank 0 has not credited. Here the test
// itself is rank 0 (the protocol of mpi.hpp is all it needs): it receives `window`
// batches from every producer and credits none. A producer that waits for credits sends
// nothing more; one that does not sends its next batch within microseconds (four small
// papers), so the test watches for one for up to 1.5 s, then sends the stop. Right code
// always takes the 1.5 s; a wrong producer is caught when its extra batch arrives.
TEST_CASE("remote_take: a producer waits for credits") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = small_papers_corpus(comm, dir.path);
    const TakeOptions options{.batch = 4, .window = 2};
    if (comm.size() == 1) {   // no producer: rank 0 reads the files itself
        auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, 10, options); });
        every_rank_agrees(comm, same(std::size_t(10), got.size(), "papers"));
        return;
    }
    if (comm.rank() != 0) {
        on_rank(comm, "remote_take (on a producer)", [&] { return remote_take(files, comm, 10, options); });
        every_rank_agrees(comm, "");
        return;
    }
    using course::mpi::Tag;
    const bmpi::communicator own(comm, bmpi::comm_duplicate);   // as remote_take does
    std::vector<std::size_t> batches(std::size_t(comm.size()), 0);
    std::vector<bool> done(std::size_t(comm.size()), false);
    std::string v;
    auto receive = [&](const bmpi::status& st) {
        if (st.tag() == Tag::papers) {
            std::vector<Paper> batch;
            own.recv(st.source(), Tag::papers, batch);
            ++batches[std::size_t(st.source())];
        } else if (st.tag() == Tag::done) {
            std::vector<LoadError> errors;
            own.recv(st.source(), Tag::done, errors);
            done[std::size_t(st.source())] = true;
        } else {
            own.recv(st.source(), st.tag());
            v += "rank " + std::to_string(st.source()) + " sent a message with tag " + std::to_string(st.tag()) + "; ";
        }
    };
    auto all_have_window = [&] {
        for (int r = 1; r < comm.size(); ++r)
            if (batches[std::size_t(r)] < options.window && !done[std::size_t(r)]) return false;
        return true;
    };
    while (!all_have_window()) receive(own.probe(bmpi::any_source, bmpi::any_tag));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    bool extra = false;
    while (!extra && std::chrono::steady_clock::now() < deadline) {
        if (auto st = own.iprobe(bmpi::any_source, Tag::papers)) {
            receive(*st);
            extra = true;
        } else {
            std::this_thread::yield();   // a producer that sends wrongly gets the core
        }
    }
    for (int r = 1; r < comm.size(); ++r) own.send(r, Tag::stop);
    while (std::find(done.begin() + 1, done.end(), false) != done.end())
        receive(own.probe(bmpi::any_source, bmpi::any_tag));
    for (int r = 1; r < comm.size(); ++r)
        if (batches[std::size_t(r)] != options.window)
            v += "rank " + std::to_string(r) + " sent " + std::to_string(batches[std::size_t(r)]) +
                 " batches while rank 0 credited none (window " + std::to_string(options.window) +
                 "): a producer must wait for a credit when `window` batches are outstanding; ";
    every_rank_agrees(comm, v);
}

// Rule: no message of a call is left behind, and none of the next call's is taken for
// this call's: each call talks on its own duplicate of comm. (A producer stopped first
// starts the next call while rank 0 still waits for a slower producer's DONE; on 3 or
// more ranks that happens in most rounds, so ten rounds catch a call without its own
// communicator every time.)
TEST_CASE("remote_take: calls in a row each get their own papers") {
    bmpi::communicator comm;
    SharedDir dir(comm);
    auto files = shared_corpus(comm, dir.path, 1400, 7);
    std::vector<Paper> corpus;
    if (comm.rank() == 0) corpus = all_papers(files);
    std::string v;
    for (int round = 0; round < 10 && v.empty(); ++round) {
        auto first = on_rank(comm, "remote_take (take 10)", [&] { return remote_take(files, comm, 10, {.batch = 8}); });
        auto second = on_rank(comm, "remote_take (take all)", [&] { return remote_take(files, comm, 1'000'000); });
        if (comm.rank() == 0) {
            v = same(std::size_t(10), first.size(), "round " + std::to_string(round) + ": papers of take(10)");
            v += papers_verdict(corpus, second, corpus.size());
            if (!v.empty()) v = "round " + std::to_string(round) + " (take(10), then take(all)): " + v;
        }
        bmpi::broadcast(comm, v, 0);
    }
    every_rank_agrees(comm, comm.rank() == 0 ? v : "");
}

// Rule: a broken file's error reaches rank 0 (report.errors, in the order of `files`)
// and every other paper still arrives, the broken file's good papers included.
TEST_CASE("remote_take: broken files are reported on rank 0 and every other paper arrives") {
    bmpi::communicator comm;
    auto good = sample_corpus();
    std::vector<fs::path> files = {broken_fixture("corrupt.gz"), good.at(0), broken_fixture("truncated.gz"), good.at(1)};
    TakeReport report;
    auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, 1'000'000, {}, &report); });
    std::string v;
    if (comm.rank() == 0) {
        std::vector<LoadError> expected;
        auto corpus = all_papers(files, &expected);
        v = papers_verdict(corpus, got, corpus.size());
        v += same(expected.size(), report.errors.size(), "errors on rank 0");
        for (std::size_t i = 0; i < std::min(expected.size(), report.errors.size()); ++i) {
            v += same(expected[i].file, report.errors[i].file, "error " + std::to_string(i) + ": file (in the order of `files`)");
            v += same(expected[i].line, report.errors[i].line, "error " + std::to_string(i) + ": line");
        }
    } else {
        v = same(std::size_t(0), report.errors.size(), "errors on a producer");
    }
    every_rank_agrees(comm, v);
}

// Rule: take(0) returns nothing on rank 0, and every rank returns.
TEST_CASE("remote_take: take(0) returns nothing and every rank returns") {
    bmpi::communicator comm;
    auto files = sample_corpus();
    TakeReport report;
    auto got = on_rank(comm, "remote_take", [&] { return remote_take(files, comm, 0, {.batch = 8, .window = 1}, &report); });
    every_rank_agrees(comm, same(std::size_t(0), got.size(), "papers returned"));
}

// Rule: batch or window 0 throw std::invalid_argument on every rank, before any message.
TEST_CASE("remote_take: batch 0 or window 0 are refused on every rank") {
    bmpi::communicator comm;
    auto files = sample_corpus();
    std::string v;
    for (TakeOptions bad : {TakeOptions{.batch = 0}, TakeOptions{.window = 0}}) {
        try {
            remote_take(files, comm, 5, bad);
            v += "batch " + std::to_string(bad.batch) + ", window " + std::to_string(bad.window) + " was accepted; ";
        } catch (const std::invalid_argument&) {
        } catch (const std::exception& e) {
            v += std::string("threw something else than std::invalid_argument: ") + e.what() + "; ";
        }
    }
    every_rank_agrees(comm, v);
}
