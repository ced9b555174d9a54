// Topic 06: many small HTTP requests, the zarr case. libcurl's multi interface: many
// transfers in flight on ONE thread, a limit on how many, connections kept and reused;
// a blocking store API over asynchronous internals; retries with backoff.
//
// The reference solution: the same header as the exercise's, http.cpp implements it.
//
//   one thread, one curl multi handle, at most `limit` transfers at once
//
//   slot 1  ▕ GET /0 ▏ GET /2 ▏ GET /3 ▏ GET /6 ▏   one connection per slot, kept
//   slot 2  ▕ GET /1 ────────────▏ GET /4 ▏ GET /5 ▏ alive: the connect cost is paid
//   queue:  /7 /8 /9 ...                              once per slot, not per request
//
//   as soon as one transfer ends the next key takes its slot (a window that slides,
//   not batches that wait for their slowest)
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace course::http {

// What one GET gave. `status` is the HTTP status, or 0 when no answer came (connection
// refused or reset, timeout). `error` is empty for a 2xx answer; otherwise it names the
// URL and the cause ("GET http://127.0.0.1:4711/x: HTTP 404", "GET ...: Couldn't connect
// to server"). `body` holds the answer's bytes exactly (it may contain '\0').
struct Result {
    int status = 0;
    std::string body;
    std::string error;
    bool ok() const { return error.empty(); }
};

// GETs every URL with libcurl's multi interface, at most `max_concurrency` transfers at
// once, and returns one Result per URL, in the order of `urls`. Throws
// std::invalid_argument when max_concurrency is 0.
std::vector<Result> fetch_all(const std::vector<std::string>& urls, std::size_t max_concurrency);

struct StoreOptions {
    std::size_t max_concurrency = 10;  // transfers in flight at once, for the whole store
    unsigned compute_threads = 2;      // threads that decompress chunks in read_array()
};

// A Zarr v2 store behind HTTP (datasets/zarr.hpp writes one): key "7" is the file
// base_url + "/7", ".zarray" its metadata. Blocking calls; asynchronous inside.
class ChunkStore {
public:
    explicit ChunkStore(std::string base_url, StoreOptions options = {});
    ~ChunkStore();
    ChunkStore(const ChunkStore&) = delete;
    ChunkStore& operator=(const ChunkStore&) = delete;

    // The bytes of every key that exists, by key; a key the server answers 404 is left
    // out (as zarr's own getitems does). Any other failure throws std::runtime_error
    // naming the key. Several threads may call it at once.
    std::map<std::string, std::string> getitems(const std::vector<std::string>& keys);

    // Reads .zarray (a 1-D "<f8" array, zlib-compressed chunks, order "C"), fetches every
    // chunk, decompresses them and returns the array. Throws std::runtime_error naming
    // the key of a missing or corrupt chunk, or the metadata field it cannot read.
    std::vector<double> read_array();

    const std::string& base_url() const;

private:
    struct Impl;  // defined in http.cpp: whatever your store needs
    std::unique_ptr<Impl> impl_;
};

struct RetryPolicy {
    int attempts = 5;                           // tries in all, the first one included
    std::chrono::milliseconds base_delay{100};  // the wait before the 2nd try; doubles after
    std::chrono::milliseconds max_delay{2000};  // no backoff wait is longer than this
    // How fetch_with_retry waits. Empty: std::this_thread::sleep_for. (Tests record the
    // waits here instead of sleeping.)
    std::function<void(std::chrono::milliseconds)> sleep;
};

// GETs `url`, trying again after a 503 or when no answer came, up to policy.attempts
// tries in all. Any other answer (200, 404, 500, ...) is returned at once. Throws
// std::invalid_argument when policy.attempts < 1.
Result fetch_with_retry(const std::string& url, const RetryPolicy& policy = {});

}  // namespace course::http
