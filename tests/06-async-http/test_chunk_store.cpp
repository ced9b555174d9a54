// Tests of course::http::ChunkStore on a small Zarr v2 store (datasets/zarr.hpp: float64
// 0..102, 5 per chunk, 21 chunks, the last one padded) served by the local server. The
// witnesses are the array itself, the store's files byte for byte, and the server's
// counters of requests in flight and connections opened.
#include <barrier>
#include <exception>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_test_tools.hpp"

using course::http::ChunkStore;
using course::http::StoreOptions;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> keys_from(std::size_t first, std::size_t count) {
    std::vector<std::string> keys;
    for (std::size_t i = first; i < first + count; ++i) keys.push_back(std::to_string(i));
    return keys;
}

// The array read, beside 0, 1, ..., n-1; prints the first difference.
void check_arange(const std::vector<double>& array, std::size_t n) {
    REQUIRE(array.size() == n);
    for (std::size_t i = 0; i < n; ++i) {
        INFO("array[" << i << "] = " << array[i] << " (expected " << i << ")");
        if (array[i] != double(i)) REQUIRE(array[i] == double(i));
    }
}

// Runs body(t) on `threads` threads that start together (a barrier), joins them all and
// rethrows the first exception one of them threw (an exception must not end a thread:
// that would terminate the whole test program).
template <class Body>
void on_threads_at_once(std::size_t threads, Body body) {
    std::barrier<> start{std::ptrdiff_t(threads)};
    std::vector<std::exception_ptr> errors(threads);
    {
        std::vector<std::jthread> callers;
        for (std::size_t t = 0; t < threads; ++t)
            callers.emplace_back([&, t] {
                start.arrive_and_wait();
                try {
                    body(t);
                } catch (...) {
                    errors[t] = std::current_exception();
                }
            });
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace

// Rule: "`read_array` returns the whole array: every chunk fetched, decompressed, and put
// in its place; the last chunk is stored whole, and only its first values belong to the
// array."
TEST_CASE("read_array returns 0 to 102 from a store of 21 chunks whose last one is padded") {
    http_test::ServedStore store;
    ChunkStore chunks(store.url(), {.max_concurrency = 4});
    check_arange(chunks.read_array(), 103);
    CHECK(store.server.stats().requests_served == 1 + store.chunks());  // .zarray and each chunk once
}

// Rule: "`read_array` returns the whole array" on a store whose length is a multiple of
// the chunk (no padding) and with one value per chunk.
TEST_CASE("read_array reads stores with no padding and with one value per chunk") {
    for (auto options : {course::datasets::ZarrOptions{.values = 60, .chunk = 6},
                         course::datasets::ZarrOptions{.values = 17, .chunk = 1}}) {
        http_test::ServedStore store(options);
        INFO("store of " << options.values << " values, " << options.chunk << " per chunk");
        check_arange(ChunkStore(store.url(), {.max_concurrency = 3}).read_array(), options.values);
    }
}

// Rule: "`getitems` returns the bytes of every key that exists, by key, exactly as
// stored; a key the server answers 404 is left out."
TEST_CASE("getitems returns each existing key's bytes and leaves out keys that do not exist") {
    http_test::ServedStore store;
    ChunkStore chunks(store.url(), {.max_concurrency = 3});
    auto items = chunks.getitems({"3", ".zarray", "20", "no-such-chunk", "0"});
    std::map<std::string, std::string> expected;
    for (std::string key : {"3", ".zarray", "20", "0"}) expected[key] = store.file(key);
    CHECK(items == expected);
    CHECK(chunks.getitems({}).empty());
}

// Rule: "Any other failure (not 404) throws std::runtime_error naming the key." Every
// request to this server answers 503.
TEST_CASE("getitems throws naming the key when the server answers 503") {
    http_test::ServedStore store({.values = 103, .chunk = 5}, {.failure_rate = 1.0});
    ChunkStore chunks(store.url(), {.max_concurrency = 2});
    CHECK_THROWS_WITH(chunks.getitems({"7"}), ContainsSubstring("7") && ContainsSubstring("503"));
}

// Rule: "`read_array` throws std::runtime_error naming the key of a missing chunk."
TEST_CASE("a missing chunk is an error naming its key") {
    http_test::ServedStore store;
    std::filesystem::remove(store.store / "13");
    ChunkStore chunks(store.url(), {.max_concurrency = 4});
    CHECK_THROWS_WITH(chunks.read_array(), ContainsSubstring("'13'") || ContainsSubstring("\"13\"") ||
                                               ContainsSubstring("key 13") || ContainsSubstring("chunk 13"));
}

// Rule: "`read_array` throws std::runtime_error naming the key of a corrupt chunk" (one
// that zlib cannot decompress, or that holds the wrong number of bytes).
TEST_CASE("a corrupt chunk is an error naming its key") {
    http_test::ServedStore store;
    SECTION("bytes that are not zlib") {
        store.overwrite("8", "this is not a zlib stream");
    }
    SECTION("a zlib stream of fewer values than a chunk holds") {
        course::datasets::ZarrOptions smaller{.values = 103, .chunk = 4};
        store.overwrite("8", course::datasets::zarr_chunk(smaller, 1));
    }
    SECTION("a zlib stream of more values than a chunk holds") {
        course::datasets::ZarrOptions bigger{.values = 103, .chunk = 6};
        store.overwrite("8", course::datasets::zarr_chunk(bigger, 1));
    }
    ChunkStore chunks(store.url(), {.max_concurrency = 4});
    CHECK_THROWS_WITH(chunks.read_array(), ContainsSubstring("'8'") || ContainsSubstring("\"8\"") ||
                                               ContainsSubstring("key 8") || ContainsSubstring("chunk 8"));
}

// Rule: "`read_array` throws std::runtime_error naming the metadata field it cannot read"
// (only a 1-D "<f8" array with zlib chunks is supported).
TEST_CASE("metadata the reader does not support is an error naming the field") {
    http_test::ServedStore store;
    auto meta = nlohmann::json::parse(store.file(".zarray"));
    std::string field;
    SECTION("dtype") {
        meta["dtype"] = "<i4";
        field = "dtype";
    }
    SECTION("compressor") {
        meta["compressor"] = {{"id", "blosc"}};
        field = "compressor";
    }
    SECTION("shape") {
        meta["shape"] = {103, 2};
        field = "shape";
    }
    store.overwrite(".zarray", meta.dump());
    ChunkStore chunks(store.url());
    CHECK_THROWS_WITH(chunks.read_array(), ContainsSubstring(field));
}

// Rule: "Several threads may call `getitems` at once: each gets the items it asked for."
TEST_CASE("getitems called from 4 threads at once returns each thread its own chunks") {
    http_test::ServedStore store({.values = 400, .chunk = 5}, {.latency = 5ms});
    ChunkStore chunks(store.url(), {.max_concurrency = 4});
    std::vector<std::map<std::string, std::string>> got(4);
    on_threads_at_once(4, [&](std::size_t t) { got[t] = chunks.getitems(keys_from(t * 20, 20)); });
    for (std::size_t t = 0; t < 4; ++t) {
        INFO("thread " << t << " asked for keys " << t * 20 << ".." << t * 20 + 19 << " and got " << got[t].size());
        REQUIRE(got[t].size() == 20);
        for (const auto& key : keys_from(t * 20, 20)) CHECK(got[t][key] == store.file(key));
    }
}

// Rule: "`max_concurrency` caps the store's transfers in flight in all, however many
// threads call `getitems` at once; inside one call the transfers overlap (up to the
// limit)." Four calls of 20 keys each, started together, on a store limited to 3.
TEST_CASE("the limit holds for the whole store when 4 threads call getitems at once") {
    http_test::ServedStore store({.values = 400, .chunk = 5}, {.latency = 40ms});
    ChunkStore chunks(store.url(), {.max_concurrency = 3});
    on_threads_at_once(4, [&](std::size_t t) { chunks.getitems(keys_from(t * 20, 20)); });
    auto stats = store.server.stats();
    INFO("the server saw at most " << stats.peak_in_flight << " requests in flight at once (limit 3)");
    CHECK(stats.requests_served == 80);
    CHECK(stats.peak_in_flight <= 3);
    CHECK(stats.peak_in_flight >= 2);
}

// Rule: "The store keeps its connections between calls: many calls open no more
// connections than `max_concurrency`."
TEST_CASE("five getitems calls one after another reuse the store's connections") {
    http_test::ServedStore store({.values = 400, .chunk = 5}, {.latency = 5ms});
    ChunkStore chunks(store.url(), {.max_concurrency = 4});
    for (std::size_t call = 0; call < 5; ++call) REQUIRE(chunks.getitems(keys_from(call * 10, 10)).size() == 10);
    auto stats = store.server.stats();
    INFO("the server accepted " << stats.connections_opened << " connections for 5 calls of 10 keys");
    CHECK(stats.connections_opened <= 4);
}

// Rule: "Destroying the store stops every thread it started: nothing is left running."
TEST_CASE("a destroyed store leaves no thread behind") {
    http_test::ServedStore store;
    std::size_t before = http_test::thread_count();
    for (int round = 0; round < 5; ++round) {
        ChunkStore chunks(store.url(), {.max_concurrency = 3, .compute_threads = 2});
        REQUIRE(chunks.getitems({"1", "2"}).size() == 2);
    }
    { ChunkStore idle(store.url()); }  // one that never did anything must stop too
    // A joined thread can stay listed in /proc for a moment after pthread_join returns
    // (the kernel releases it just after): a thread left running stays there for good.
    std::size_t after = http_test::thread_count();
    for (int wait = 0; wait < 500 && after > before; ++wait) {
        std::this_thread::sleep_for(10ms);
        after = http_test::thread_count();
    }
    INFO("this process had " << before << " threads before 6 stores and " << after << " after they were destroyed");
    CHECK(after == before);
}
