// Section 6: getitems, the original material's design question. zarr and its users call plain
// blocking functions; the speed comes from many transfers in flight. So the store offers a
// blocking API (getitems(keys), read_array()) over asynchronous internals: its own I/O
// thread with a curl multi handle, and a separate compute pool that decompresses, so the
// I/O thread only moves bytes.
//
//   caller thread A: getitems(keys of A) ──┐ waits            ┌─> map of A's chunks
//   caller thread B: getitems(keys of B) ──┤ (blocking)       ├─> map of B's chunks
//                                          ▼                  │
//   I/O thread:    curl multi, at most `limit` transfers in flight for the whole store
//                          │ a chunk's bytes
//                          ▼
//   compute pool:  zlib inflate ─> array       (not on the I/O thread: it keeps polling)
#include <atomic>
#include <cmath>
#include <cstdio>
#include <latch>
#include <mutex>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http.hpp"   // the topic's API: course::http::ChunkStore
#include "parts.hpp"

namespace lesson06 {

namespace asio = boost::asio;

namespace {

// Several threads call getitems on ONE store at once, each with its own share of the keys
// (key i goes to thread i % callers). Each must get exactly its keys, with their bytes.
struct CallerRun {
    double seconds = 0;
    std::vector<std::size_t> keys_got;   // per caller
    std::vector<double> returned_after;  // per caller: seconds from the common start
};

CallerRun getitems_from_threads(course::http::ChunkStore& store, const Store& layout, unsigned callers,
                                course::Recorder& rec) {
    std::vector<std::vector<std::string>> shares(callers);
    for (std::size_t i = 0; i < layout.chunks(); ++i) shares[i % callers].push_back(std::to_string(i));
    std::vector<std::map<std::string, std::string>> got(callers);
    std::vector<std::exception_ptr> errors(callers);
    std::vector<Clock::time_point> returned(callers);
    std::latch start(callers + 1);
    std::vector<std::thread> threads;
    course::Stopwatch watch;
    try {
        for (unsigned c = 0; c < callers; ++c)
            threads.emplace_back([&, c] {
                start.arrive_and_wait();   // all callers call at the same moment
                try {
                    auto called = Clock::now();
                    got[c] = store.getitems(shares[c]);
                    returned[c] = Clock::now();
                    rec.record_on("caller " + std::to_string(c + 1),
                                  "getitems(" + std::to_string(shares[c].size()) + " keys)", called, returned[c]);
                } catch (...) {
                    errors[c] = std::current_exception();
                }
            });
    } catch (...) {   // no more threads: release the ones started, let them finish, then fail
        start.count_down(std::ptrdiff_t(callers - threads.size()));
        start.arrive_and_wait();
        for (auto& t : threads) t.join();
        throw;
    }
    watch.restart();
    start.arrive_and_wait();
    for (auto& t : threads) t.join();
    CallerRun run{watch.seconds(), {}, {}};
    for (auto& at : returned) run.returned_after.push_back(seconds_between(watch.started(), at));
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);

    // Each caller: exactly its keys, and the chunks decode to the right values.
    std::vector<double> array(layout.values);
    for (unsigned c = 0; c < callers; ++c) {
        std::string who = "section 6 (getitems from caller " + std::to_string(c + 1) + ")";
        if (got[c].size() != shares[c].size())
            throw std::runtime_error(who + ": asked for " + std::to_string(shares[c].size()) + " keys, got " +
                                     std::to_string(got[c].size()));
        for (auto& key : shares[c]) {
            auto it = got[c].find(key);
            if (it == got[c].end()) throw std::runtime_error(who + ": key " + key + " missing from its answer");
            decode_chunk(layout, std::stoul(key), it->second, array);
        }
        run.keys_got.push_back(got[c].size());
    }
    verify_arange(array, layout.values, "section 6 (getitems from " + std::to_string(callers) + " threads)");
    return run;
}

// Reads every chunk in a window of `limit` on this thread (the I/O thread), decompressing
// each either right here or on a compute pool. Measures this thread's CPU time: what the
// I/O thread was busy with, and so could not spend polling sockets.
struct DecodeRun {
    double seconds = 0, io_thread_cpu = 0, decode_cpu = 0;
};

DecodeRun read_and_decode(const Store& store, std::size_t limit, unsigned pool_threads) {
    auto transfers = chunk_transfers(store);
    std::vector<double> array(store.values);
    std::atomic<long long> decode_ns{0};
    std::mutex error_mutex;
    std::exception_ptr error;
    auto decode = [&](std::size_t index, const std::string& bytes) {
        double cpu0 = thread_cpu_seconds();
        decode_chunk(store, index, bytes, array);   // each chunk writes its own slots: no lock
        decode_ns += (long long)((thread_cpu_seconds() - cpu0) * 1e9);
    };
    std::optional<asio::thread_pool> pool;
    if (pool_threads > 0) pool.emplace(pool_threads);

    DecodeRun run;
    double io0 = thread_cpu_seconds();
    course::Stopwatch watch;
    run_multi(transfers, {.admission = Admission::window, .limit = limit}, [&](Transfer& t) {
        if (!t.ok()) throw std::runtime_error("section 6: " + t.error);
        if (!pool) {
            decode(t.index, t.body);   // right here: the I/O thread inflates, nobody polls meanwhile
            return;
        }
        // Hand the bytes over (moved, not shared) and go back to polling at once.
        asio::post(*pool, [&, index = t.index, bytes = std::move(t.body)] {
            try {
                decode(index, bytes);
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
            }
        });
    });
    run.io_thread_cpu = thread_cpu_seconds() - io0;
    if (pool) pool->join();   // every posted chunk decoded
    run.seconds = watch.seconds();
    if (error) std::rethrow_exception(error);
    run.decode_cpu = double(decode_ns.load()) / 1e9;
    verify_arange(array, store.values,
                  std::string("section 6 (decompress on ") + (pool ? "a compute pool)" : "the I/O thread)"));
    return run;
}

}  // namespace

void getitems_section(course::Lesson& lesson, Settings& s) {
    lesson.section("6. getitems: a blocking API over asynchronous internals, and where to decompress");
    std::size_t n = s.store.chunks();
    double bound = window_bound(n, s.limit, s.latency(), s.connect_cost());
    course::ResultTable table("getitems");
    course::http::ChunkStore store(s.store.url, {.max_concurrency = s.limit, .compute_threads = 2});

    // 1. Plain code calls read_array(): no event loop, no callbacks, no co_await in sight.
    auto probe = s.probe();
    course::Stopwatch watch;
    std::vector<double> array = store.read_array();
    double seconds = watch.seconds();
    auto read_counters = probe.read();
    verify_arange(array, s.store.values, "section 6 (ChunkStore::read_array)");
    // read_array first reads .zarray: one request more, before the chunks.
    auto& read_row = table.add({.variant = "ChunkStore::read_array()", .n = n, .seconds = seconds,
                                .bound_seconds = bound + s.latency(), .bound = "(1+n/lim)lat+c", .workers = 1,
                                .ok = true});
    if (read_counters.peak_in_flight) read_row.extra["peak_in_flight"] = *read_counters.peak_in_flight;

    // 2. Four threads call getitems on the same store at once.
    constexpr unsigned callers = 4;
    course::Recorder callers_rec;
    probe = s.probe();
    auto run = getitems_from_threads(store, s.store, callers, callers_rec);
    auto callers_counters = probe.read();
    // The store keeps its connections between calls, so this call pays the connect cost
    // only for the connections it opened: the work (every request's latency, every new
    // connection's cost) spread over the limit's slots.
    double opened = double(callers_counters.connections_opened.value_or(s.limit));
    double rounds = std::ceil(double(n) / double(s.limit));
    double callers_bound = std::max(rounds * s.latency(),
                                    (double(n) * s.latency() + opened * s.connect_cost()) / double(s.limit));
    auto& callers_row = table.add({.variant = "getitems from 4 threads at once", .n = n, .seconds = run.seconds,
                                   .bound_seconds = callers_bound, .bound = "work/lim", .workers = callers,
                                   .ok = true});
    if (callers_counters.peak_in_flight) callers_row.extra["peak_in_flight"] = *callers_counters.peak_in_flight;
    lesson.report(table);
    std::printf("  read_array(): the array exact; server: peak_in_flight = %s (limit %zu), connections_opened = %s\n",
                show(read_counters.peak_in_flight).c_str(), s.limit, show(read_counters.connections_opened).c_str());
    std::printf("  getitems from %u threads: each got exactly its own keys (", callers);
    for (std::size_t c = 0; c < run.keys_got.size(); ++c) std::printf("%s%zu", c ? ", " : "", run.keys_got[c]);
    std::printf("), every chunk right;\n  server: peak_in_flight = %s: the limit is the store's, shared by all callers;\n"
                "  connections_opened = %s: the store's connections outlive a call (the bound: the requests'\n"
                "  latency and the cost of the connections opened, over the %zu slots).\n",
                show(callers_counters.peak_in_flight).c_str(), show(callers_counters.connections_opened).c_str(), s.limit);
    std::printf("  each call returned when its last key had arrived:\n  after");
    for (std::size_t c = 0; c < run.returned_after.size(); ++c)
        std::printf("%s %s", c ? "," : "", human(run.returned_after[c]).c_str());
    std::printf(" (callers 1-%u).\n  Who goes first is the store's queue's choice; together they take the time one call\n"
                "  for all the keys would.\n", callers);
    lesson.timeline(callers_rec, "getitems-callers");

    // 3. Where the chunks are decompressed: on the I/O thread, or handed to a compute pool.
    // This store's chunks are tiny (5 values, ~22 bytes): inflating one takes about a
    // microsecond. A store with as many chunks, each 400 times bigger (2,000 values, ~2.7 KB
    // stored), makes inflating cost something.
    course::datasets::ZarrOptions big_options{.values = s.zarr.values * 400, .chunk = s.zarr.chunk * 400, .level = 1};
    auto big_dir = course::datasets::default_zarr_dir(big_options);
    if (!std::filesystem::exists(big_dir / ".zarray")) std::printf("  writing the store %s once\n", big_dir.c_str());
    course::datasets::ensure_zarr_store(big_dir, big_options);
    std::unique_ptr<course::LocalServer> own_server;   // --url's server does not have this store
    std::string big_url;
    if (s.server) {
        big_url = s.store_url_for(big_dir);
    } else {
        own_server = std::make_unique<course::LocalServer>(s.server_options());
        big_url = own_server->url() + "/files/" + big_dir.filename().string();
    }
    Store big = open_store(big_url);

    course::ResultTable decode_table("decompress");
    struct Line {
        std::string variant;
        DecodeRun run;
    };
    std::vector<Line> lines;
    for (const Store* which : {&s.store, &big}) {
        std::string size = std::to_string(which->chunk) + "-value chunks";
        for (unsigned pool_threads : {0u, 2u}) {
            auto r = read_and_decode(*which, s.limit, pool_threads);
            std::string variant = size + (pool_threads ? ", inflate on a pool of 2" : ", inflate on the I/O thread");
            auto& row = decode_table.add({.variant = variant, .n = which->chunks(), .seconds = r.seconds,
                                          .bound_seconds = window_bound(which->chunks(), s.limit, s.latency(),
                                                                        s.connect_cost()),
                                          .bound = "n/lim*lat+conn", .workers = 1 + pool_threads, .ok = true});
            row.extra["io_thread_cpu_seconds"] = r.io_thread_cpu;
            row.extra["decompress_cpu_seconds"] = r.decode_cpu;
            lines.push_back({variant, r});
        }
    }
    lesson.report(decode_table);
    for (auto& [variant, r] : lines)
        std::printf("  %-46s I/O thread busy %8s (%4.1f %% of the wall); inflating took %s\n", variant.c_str(),
                    human(r.io_thread_cpu).c_str(), 100 * r.io_thread_cpu / r.seconds, human(r.decode_cpu).c_str());
    const DecodeRun &tiny_here = lines[0].run, &tiny_pool = lines[1].run;
    const DecodeRun &big_here = lines[2].run, &big_pool = lines[3].run;
    std::printf("  Tiny chunks cost %s each to inflate: nothing worth moving off the I/O thread",
                human(tiny_here.decode_cpu / double(n)).c_str());
    if (tiny_pool.io_thread_cpu > tiny_here.io_thread_cpu)
        std::printf(";\n  handing them over even cost the I/O thread %s more than inflating them itself (a hand-off\n"
                    "  wakes a pool thread: a system call, more than a microsecond of inflating)",
                    human(tiny_pool.io_thread_cpu - tiny_here.io_thread_cpu).c_str());
    std::printf(".\n  The %zu-value chunks cost %s each: %s of the I/O thread's time when it inflates them\n"
                "  itself, time it cannot spend on its sockets; handed to the pool, its busy time drops by %s.\n",
                big.chunk, human(big_here.decode_cpu / double(big.chunks())).c_str(), human(big_here.decode_cpu).c_str(),
                human(big_here.io_thread_cpu - big_pool.io_thread_cpu).c_str());
    lesson.say("  The wall time hardly moves: with 10 requests in flight the I/O thread is idle most of the time.");
    lesson.say("  Inflating on it delays the next refill by microseconds; it matters when chunks are big or many.");
}

}  // namespace lesson06
