// Section 3: the original loader's RemoteChannel, across ranks. Ranks 1.. are the worker
// processes; rank 0 holds topic 04's Channel<Paper> and the consumer:
//
//   rank 1: parse, batch --PAPERS(64)--> +                          rank 0
//   rank 2: parse, batch --PAPERS(64)--> +--> receiver thread --push--> Channel<Paper> --pop--> consumer:
//   rank 3: parse, batch --PAPERS(64)--> +    (the only thread          (capacity 1024)         take(n), then
//                        <--CREDIT------      of rank 0 that                                   close()
//                        <--STOP--------      calls MPI here)
//
// Backpressure end to end: the consumer stops popping -> the channel fills -> the receiver
// blocks in push and sends no CREDIT -> each producer stops after `window` unanswered
// batches. Stopping early: the consumer closes the channel -> the receiver's push throws
// channel_closed (or it sees closed() between messages) -> STOP to every producer, which
// checks for it between batches; the receiver keeps receiving (and dropping) what was
// already on its way until every producer's DONE, its last message.
//
// The producers run the topic's API unchanged: course::mpi::remote_take. Rank 0 speaks
// the same protocol (mpi.hpp: the tags, on a duplicate of the communicator) from a thread
// of its own, so that its consumer can pop papers one at a time, as in topic 08.
#include <algorithm>
#include <exception>
#include <iostream>
#include <limits>
#include <thread>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/packed_iarchive.hpp>
#include <boost/mpi/packed_oarchive.hpp>
#include <boost/mpi/status.hpp>

#include "parts.hpp"

namespace lesson09 {

namespace {

using namespace std::chrono_literals;
using course::channels::Channel;
using course::channels::channel_closed;
using course::mpi::LoadError;
using course::mpi::Paper;
using course::mpi::Tag;   // the messages: Tag::papers, Tag::credit, Tag::stop, Tag::done

// What rank 0's receiver saw during one take.
struct Received {
    std::vector<std::size_t> pushed;    // papers pushed into the channel, by sending rank
    std::size_t dropped = 0;            // papers that arrived after the consumer closed
    std::size_t batches = 0;
    std::vector<LoadError> errors;      // the producers' failed files (from their DONE)
    std::exception_ptr failure;         // the receiver itself failed: rethrown on the main thread
    struct Arrival {
        int from;
        std::size_t papers;
        Clock::time_point since, at;    // since: the previous batch from that rank (or the start)
    };
    std::vector<Arrival> arrivals;
    Clock::time_point all_done;         // the last DONE arrived: no producer sends any more
};

// Rank 0's receiver: runs on its own thread, the only one of rank 0 that calls MPI until it
// returns (MPI was initialised with threading::serialized, which allows exactly that).
void receive_into(Channel<Paper>& out, const bmpi::communicator& own, Received& got) {
    const int size = own.size();
    got.pushed.assign(std::size_t(size), 0);
    int running = size - 1;
    std::vector<bool> stop_sent(std::size_t(size), false);
    auto stop = [&](int r) {
        if (stop_sent[std::size_t(r)]) return;
        own.send(r, Tag::stop);   // the last message rank 0 sends to r
        stop_sent[std::size_t(r)] = true;
    };
    auto stop_everyone = [&] {
        for (int r = 1; r < size; ++r) stop(r);
    };
    std::vector<Clock::time_point> last(std::size_t(size), Clock::now());
    bool open = true;
    while (running > 0) {
        if (open && out.closed()) {   // the consumer has its n: stop now, not at the next batch
            open = false;
            stop_everyone();
        }
        // Not own.probe(): it would spin a core at 100 % while waiting, a core the producers
        // need when ranks share a machine. A 50 us nap between looks costs nothing at 64
        // papers (a few milliseconds of parsing) per batch.
        boost::optional<bmpi::status> st = own.iprobe(bmpi::any_source, bmpi::any_tag);
        if (!st) {
            std::this_thread::sleep_for(50us);
            continue;
        }
        const int from = st->source();
        if (st->tag() == Tag::papers) {
            std::vector<Paper> batch;
            own.recv(from, Tag::papers, batch);
            const auto now = Clock::now();
            got.arrivals.push_back({from, batch.size(), last[std::size_t(from)], now});
            last[std::size_t(from)] = now;
            ++got.batches;
            std::size_t pushed = 0;
            if (open) {
                try {
                    for (auto& paper : batch) {
                        out.push(std::move(paper));   // blocks while the channel is full: backpressure
                        ++pushed;
                    }
                    own.send(from, Tag::credit);      // room for one more batch from `from`
                } catch (const channel_closed&) {
                    open = false;
                    stop_everyone();
                }
            }
            got.pushed[std::size_t(from)] += pushed;
            got.dropped += batch.size() - pushed;     // sent before our STOP reached `from`
        } else {   // DONE: the producer's last message, with the files it failed to read
            std::vector<LoadError> errors;
            own.recv(from, Tag::done, errors);
            got.errors.insert(got.errors.end(), errors.begin(), errors.end());
            --running;
            stop(from);   // all it still waits for: send it now rather than after the slowest rank
        }
    }
    got.all_done = Clock::now();
    out.close();   // after the last producer: a draining consumer's pop() ends here
}

// What a batch costs to pack into a message and to unpack again, as remote_take's sends
// and receives do it (Boost.Serialization through MPI_Pack): per paper, and its bytes.
struct PackCost {
    double pack = 0, unpack = 0, bytes = 0;   // seconds per paper, bytes per paper
};

PackCost packing_cost(const Job& job) {
    std::vector<Paper> papers;
    struct enough {};
    try {
        course::mpi::for_each_paper(job.files.front(), [&](Paper&& p) {
            papers.push_back(std::move(p));
            if (papers.size() == 16 * job.take_options.batch) throw enough{};
        });
    } catch (const enough&) {
    } catch (const course::loading::load_error&) {   // measured on the papers before the bad spot
    }
    PackCost cost;
    if (papers.empty()) return cost;
    double pack = 0, unpack = 0, bytes = 0;
    for (std::size_t from = 0; from < papers.size(); from += job.take_options.batch) {
        const std::size_t to = std::min(papers.size(), from + job.take_options.batch);
        std::vector<Paper> batch(papers.begin() + std::ptrdiff_t(from), papers.begin() + std::ptrdiff_t(to));
        std::vector<char, bmpi::allocator<char>> buffer;
        course::Stopwatch watch;
        {
            bmpi::packed_oarchive out(job.world, buffer);
            out << batch;
        }
        pack += watch.seconds();
        bytes += double(buffer.size());
        std::vector<Paper> back;
        watch.restart();
        {
            bmpi::packed_iarchive in(job.world, buffer);
            in >> back;
        }
        unpack += watch.seconds();
    }
    const double n = double(papers.size());
    return {pack / n, unpack / n, bytes / n};
}

// One take on every rank: n papers (SIZE_MAX: all of them). Rank 0 returns what it saw.
struct TakeRun {
    std::size_t taken = 0;
    double seconds = 0;          // until the consumer had its n (or the channel ended)
    double stop_seconds = 0;     // from the consumer's close() until every producer's DONE
    std::vector<std::size_t> taken_from;   // by loaded_by (the sending rank)
    Received received;
    std::vector<std::pair<std::size_t, std::size_t>> sent;   // every rank's (papers, batches) sent
};

TakeRun take_across_ranks(Job& job, Timeline& t, std::size_t n, const std::string& what) {
    TakeRun run;
    polite_barrier(job.world);   // every rank starts together
    course::mpi::TakeReport report;
    const char phase = n == std::numeric_limits<std::size_t>::max() ? 'D' : 'T';
    if (!job.root()) {
        auto span = t.phase(phase, what + ": producing");
        course::mpi::remote_take(job.files, job.world, n, job.take_options, &report);
    } else {
        auto span = t.phase(phase, what + ": consuming");
        course::Stopwatch watch;
        // remote_take's producers talk on a duplicate of the communicator they were given
        // (mpi.hpp); MPI_Comm_dup is collective, so rank 0 makes the matching duplicate.
        const bmpi::communicator own(job.world, bmpi::comm_duplicate);
        Channel<Paper> channel(job.capacity);
        Received& got = run.received;
        std::thread receiver([&] {
            try {
                receive_into(channel, own, got);
            } catch (...) {
                got.failure = std::current_exception();
                channel.close(got.failure);   // wakes the consumer: pop() rethrows it
            }
        });
        run.taken_from.assign(std::size_t(job.size), 0);
        try {
            while (run.taken < n) {
                auto paper = channel.pop();   // drops each paper at once: we measure the loader
                if (!paper) break;
                ++run.taken;
                ++run.taken_from[std::size_t(std::clamp<long>(paper->loaded_by, 0, job.size - 1))];
            }
        } catch (...) {
            channel.close();   // the receiver stops everyone and returns: then ours can propagate
            receiver.join();
            throw;
        }
        run.seconds = watch.seconds();
        const auto closed = Clock::now();
        channel.close();   // take(n) is done: the receiver stops everyone
        receiver.join();
        if (got.failure) std::rethrow_exception(got.failure);
        run.stop_seconds = std::max(0.0, std::chrono::duration<double>(got.all_done - closed).count());
        for (const auto& a : got.arrivals)
            t.add('b', "batch of " + std::to_string(a.papers) + " from rank " + std::to_string(a.from), a.since, a.at,
                  "receiver");
    }
    bmpi::gather(job.world, std::make_pair(report.papers_sent, report.batches_sent), run.sent, 0);
    return run;
}

}  // namespace

void remote_channel_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f) {
    if (job.root()) lesson.section("3. The original loader's RemoteChannel, across ranks");
    if (job.size < 2) {
        if (job.root()) lesson.say("1 rank: no producer ranks to stream from; run on 2 or more ranks for it.");
        return;
    }
    if (job.root()) {
        const std::string producers = job.size == 2 ? "Rank 1 parses every file and sends" :
            "Ranks 1.." + std::to_string(job.size - 1) + " parse their share (file i: rank 1 + i % " +
            std::to_string(job.size - 1) + ") and send";
        lesson.say(producers + " the papers to rank 0 in batches of " + std::to_string(job.take_options.batch) +
                   ",");
        lesson.say("at most " + std::to_string(job.take_options.window) +
                   " batches unanswered (credits: backpressure across the network). On rank 0 a receiver");
        lesson.say("thread pushes them into topic 04's Channel<Paper> (capacity " + std::to_string(job.capacity) +
                   "); the consumer pops n, then");
        lesson.say("closes the channel, and the receiver sends STOP to every producer. Each run starts afresh.");
    }
    const unsigned producers = unsigned(job.size - 1);
    // The unit of every bound here: one core parses a paper in f.cpu_per_paper (section 1,
    // known on rank 0, which alone prints), and at most min(producers, cores) producers
    // parse at the same moment.
    const double cpu_per_paper = f.cpu_per_paper;
    auto bound = [&](std::size_t papers, unsigned workers) {
        return double(papers) * cpu_per_paper / busy(job, workers);
    };

    PackCost packing;
    if (job.root()) {   // the other ranks are already asleep at the first take's start
        lesson.say("Bound: n papers x one core's parse time per paper (section 1) / min(producers, cores):");
        lesson.say("parsing is the work; sending, receiving and popping should hide behind it.");
        packing = packing_cost(job);
        std::printf("What a message costs beside the parsing: Boost.MPI packs a paper (%s) in %s on the\n"
                    "producer and unpacks it in %s on rank 0's receiver; parsing it took %s.\n",
                    bytes_text(packing.bytes).c_str(), course::format_duration(packing.pack).c_str(),
                    course::format_duration(packing.unpack).c_str(), course::format_duration(cpu_per_paper).c_str());
        std::fflush(stdout);
    }
    const std::size_t expected = job.valid ? job.valid : f.papers;   // every valid paper, once
    course::ResultTable takes("take");
    std::vector<std::string> notes;
    std::map<std::size_t, double> measured;
    for (std::size_t n : job.takes) {
        TakeRun run = take_across_ranks(job, t, n, "take(" + std::to_string(n) + ")");
        if (!job.root()) continue;
        measured[n] = run.seconds;
        std::size_t sent = 0;
        for (const auto& [papers, batches] : run.sent) sent += papers;
        auto& m = takes.add({.variant = "ranks -> channel", .n = run.taken, .seconds = run.seconds,
                             .bound_seconds = bound(run.taken, producers), .bound = "parse CPU/cores",
                             .workers = producers});
        m.ok = run.taken == std::min(n, expected);
        m.extra["papers_sent"] = sent;
        m.extra["papers_dropped"] = run.received.dropped;
        m.extra["stop_seconds"] = run.stop_seconds;
        if (!m.ok) f.wrong.push_back("take(" + std::to_string(n) + ") gave " + std::to_string(run.taken));
        std::string line = "  take(" + std::to_string(n) + "): sent";
        for (std::size_t r = 1; r < run.sent.size(); ++r)
            line += (r > 1 ? ", " : " ") + thousands(run.sent[r].first) + " by rank " + std::to_string(r);
        line += "; " + thousands(run.received.dropped) + " arrived after the stop (dropped); every producer done " +
                course::format_duration(run.stop_seconds) + " after close()";
        notes.push_back(line);
    }
    if (job.root()) {
        lesson.report(takes);
        for (const auto& line : notes) lesson.say(line);
        const std::size_t overshoot = producers * job.take_options.window * job.take_options.batch + job.capacity;
        lesson.say("  Sent beyond n: at most " + thousands(overshoot) + " papers (" + std::to_string(producers) +
                   " producer(s) x " + std::to_string(job.take_options.window) + " batches x " +
                   std::to_string(job.take_options.batch) + " in flight + the channel's " +
                   std::to_string(job.capacity) + "):");
        lesson.say("  the credits bound the waste of stopping early. A consumer that keeps up leaves about a batch");
        lesson.say("  per producer.");
        lesson.say("\nThe original material's table (Julia, 2018, the real corpus) beside ours, seconds:");
        std::printf("  %9s | %8s %12s | %s\n", "n", "serial", "8 processes",
                    ("ours, " + std::to_string(producers) + " producer rank" + (producers > 1 ? "s" : "")).c_str());
        const std::map<std::size_t, std::pair<double, double>> original = {
            {1000, {8.30, 9.66}}, {10000, {82.5, 16.9}}, {100000, {836.7, 146.2}}};
        for (std::size_t n : job.takes) {
            auto it = original.find(n);
            const bool known = it != original.end();
            std::printf("  %9zu | %8s %12s | %s\n", n, known ? seconds_text(it->second.first).c_str() : "-",
                        known ? seconds_text(it->second.second).c_str() : "-", seconds_text(measured[n]).c_str());
        }
        lesson.say("  Theirs: at 1k the 8 processes lose to serial (a fixed cost to get them going), from 10k on");
        lesson.say("  they win 5x. Ours starts in milliseconds (the ranks are already up and the code compiled),");
        lesson.say("  and grows with n from the first row; stopping early costs at most the overshoot above.");
        std::cout.flush();
    }

    // The drain: every paper, then topic 08's loader on the same files with as many
    // producers, rank 0 alone (the other ranks wait without spinning).
    TakeRun drain = take_across_ranks(job, t, std::numeric_limits<std::size_t>::max(), "drain");
    double loader08_seconds = 0;
    std::size_t loader08_papers = 0;
    std::vector<course::loading::LoadError> loader08_errors;
    if (job.root()) {
        auto span = t.phase('8', "topic 08's distributed_channel_load, drained");
        course::Stopwatch watch;
        auto handle = course::loading::distributed_channel_load(
            job.files, {.workers = producers, .capacity = job.capacity});
        while (handle.channel().pop()) ++loader08_papers;
        loader08_seconds = watch.seconds();
        loader08_errors = handle.errors();
        handle.close();
    } else {
        auto idle = Clock::now();
        polite_barrier(job.world);
        t.add('.', "waiting: rank 0 runs topic 08's loader", idle, Clock::now());
    }
    if (job.root()) polite_barrier(job.world);
    if (!job.root()) return;

    lesson.say("");
    lesson.say("Drain: every paper of the corpus, then topic 08's distributed_channel_load (forked workers");
    lesson.say("sending over sockets) with as many producers, on rank 0 alone, the other ranks asleep.");
    course::ResultTable drains("drain");
    const double ratio = (drain.seconds > 0 && loader08_seconds > 0) ? loader08_seconds / drain.seconds : 0;
    course::Measurement ours{.variant = "ranks -> channel", .n = drain.taken, .seconds = drain.seconds,
                             .bound_seconds = bound(drain.taken, producers), .bound = "parse CPU/cores",
                             .workers = producers, .ok = drain.taken == expected};
    ours.extra["dropped"] = drain.received.dropped;
    ours.extra["throughput_vs_08"] = ratio;
    course::Measurement theirs{.variant = "topic 08 distributed", .n = loader08_papers, .seconds = loader08_seconds,
                               .bound_seconds = bound(loader08_papers, producers), .bound = "parse CPU/cores",
                               .workers = producers, .ok = loader08_papers == expected};
    if (!ours.ok)
        f.wrong.push_back("drain delivered " + std::to_string(drain.taken) + ", expected " + std::to_string(expected));
    if (!theirs.ok) f.wrong.push_back("topic 08's loader delivered " + std::to_string(loader08_papers));
    drains.add(std::move(ours));
    drains.add(std::move(theirs));
    lesson.report(drains);
    std::string per_rank = "  delivered " + thousands(drain.taken) + " papers (" +
                           (job.valid ? "manifest: " + thousands(job.valid) : "section 1: " + thousands(f.papers)) +
                           "), by rank:";
    for (int r = 1; r < job.size; ++r)
        per_rank += " " + std::to_string(r) + ": " + thousands(drain.taken_from[std::size_t(r)]);
    lesson.say(per_rank);
    std::printf("  throughput: ours %.0f papers/s, topic 08's %.0f papers/s: ours = %.0f %% of it (target 80 %%)\n",
                double(drain.taken) / drain.seconds, double(loader08_papers) / loader08_seconds, 100.0 * ratio);
    std::fflush(stdout);
    std::printf("  Both move the same papers between processes. A producer rank parses and packs: %.0f %% of\n"
                "  the bound at best (parse / (parse + pack)); topic 08's workers write a flat record of their\n"
                "  own, cheaper than Boost.Serialization's MPI_Pack per string. What MPI buys for that: nothing\n"
                "  here assumes one machine, ranks 1.. could run anywhere the files are (section 4).\n",
                100.0 * cpu_per_paper / (cpu_per_paper + packing.pack));
    if (unsigned(job.size) > job.cores)
        std::printf("  (%d processes on %u cores: a rank waiting inside MPI still polls, yielding the core, where\n"
                    "  topic 08's reader sleeps in the kernel until bytes arrive; crowded cores widen the gap)\n",
                    job.size, job.cores);
    std::fflush(stdout);
    for (const auto& e : drain.received.errors) lesson.say("  " + e.message);
    for (const auto& e : loader08_errors) lesson.say("  topic 08: " + e.message);
}

}  // namespace lesson09
