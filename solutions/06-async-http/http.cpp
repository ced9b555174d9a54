// Topic 06, the reference solution: fetch_all, ChunkStore and fetch_with_retry on
// libcurl. Read it top to bottom: small curl helpers first, then the three parts.
#include "http.hpp"

#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <bit>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

namespace course::http {
namespace {

// ---------------------------------------------------------------- curl basics

// curl_global_init must run once before any other curl call, and is not thread-safe
// itself: a function-local static runs it once, whichever thread gets here first.
void init_curl_once() {
    struct Global {
        Global() {
            if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
        }
        ~Global() { curl_global_cleanup(); }
    };
    static Global global;
}

// Owners for curl's handles: cleanup runs however a function is left.
struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
    void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;

// curl hands the body over in pieces; each piece is appended as bytes (it may hold '\0').
std::size_t append_body(char* data, std::size_t size, std::size_t count, void* body) {
    static_cast<std::string*>(body)->append(data, size * count);
    return size * count;
}

// curl hands over each header line ("Retry-After: 0\r\n") by itself. Only Retry-After
// is kept, in its seconds form (the HTTP-date form is ignored: backoff applies).
std::size_t read_header(char* data, std::size_t size, std::size_t count, void* retry_after) {
    std::string_view line(data, size * count);
    constexpr std::string_view name = "retry-after:";
    if (line.size() > name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) { return a == std::tolower(b); })) {
        std::string value(line.substr(name.size()));
        try {
            std::size_t used = 0;
            long seconds = std::stol(value, &used);
            if (seconds >= 0) *static_cast<std::optional<long>*>(retry_after) = seconds;
        } catch (const std::exception&) {  // not a number: no Retry-After
        }
    }
    return size * count;
}

// One transfer: an easy handle with its URL, where its body goes and its error text.
struct Transfer {
    Easy easy;
    std::string url;
    std::string body;
    std::optional<long> retry_after;  // seconds, from a "Retry-After: N" header
    char error[CURL_ERROR_SIZE] = {};
    std::size_t slot = 0;  // which result (or key) it fills
};

Easy new_easy() {
    init_curl_once();
    Easy easy(curl_easy_init());
    if (!easy) throw std::runtime_error("curl_easy_init failed");
    return easy;
}

// Points `t` at `url`. The handle is reused between transfers: its connection stays in
// the multi handle's pool (or, for easy_perform, in the handle itself), so the next GET
// to the same host goes over the same connection.
void prepare(Transfer& t, std::string url, std::size_t slot) {
    t.url = std::move(url);
    t.body.clear();
    t.retry_after.reset();
    t.error[0] = '\0';
    t.slot = slot;
    CURL* e = t.easy.get();
    curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t.body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t.retry_after);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);              // threads: no SIGALRM for timeouts
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10'000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 120'000L);      // nothing waits for ever
}

// The Result of a finished transfer: a 2xx answer is a success, anything else an error
// that names the URL and the cause.
Result finish(const Transfer& t, CURLcode code) {
    Result r;
    if (code != CURLE_OK) {
        r.error = "GET " + t.url + ": " + (t.error[0] ? t.error : curl_easy_strerror(code));
        return r;
    }
    long status = 0;
    curl_easy_getinfo(t.easy.get(), CURLINFO_RESPONSE_CODE, &status);
    r.status = int(status);
    r.body = t.body;
    if (status < 200 || status > 299) r.error = "GET " + t.url + ": HTTP " + std::to_string(status);
    return r;
}

// ---------------------------------------------------------------- a sliding window

// Runs `next` transfers on `multi` with at most `limit` in flight, on this thread:
// whenever one finishes, `done(transfer, code)` sees it and its handle takes the next
// URL `next()` gives (nothing: the slot stays free). Returns when nothing is in flight
// and `next` has nothing more. `wait` is how long one curl_multi_poll may sleep.
template <class Next, class Done>
void run_window(CURLM* multi, std::vector<Transfer>& slots, Next next, Done done, int wait_ms = 1000) {
    std::size_t running_handles = 0;
    std::vector<Transfer*> idle;
    for (auto& t : slots) idle.push_back(&t);
    auto refill = [&] {
        while (!idle.empty()) {
            auto work = next();
            if (!work) return;
            Transfer* t = idle.back();
            idle.pop_back();
            prepare(*t, std::move(work->first), work->second);
            curl_multi_add_handle(multi, t->easy.get());
            ++running_handles;
        }
    };
    refill();
    while (running_handles > 0) {
        int still_running = 0;
        CURLMcode mc = curl_multi_perform(multi, &still_running);
        if (mc != CURLM_OK) throw std::runtime_error(std::string("curl_multi_perform: ") + curl_multi_strerror(mc));
        int queued = 0;
        while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
            if (msg->msg != CURLMSG_DONE) continue;
            Transfer* t = nullptr;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
            CURLcode code = msg->data.result;  // read before remove_handle frees msg
            curl_multi_remove_handle(multi, t->easy.get());
            --running_handles;
            done(*t, code);
            idle.push_back(t);
        }
        refill();
        if (running_handles > 0) curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
    }
}

Multi new_multi(std::size_t limit) {
    init_curl_once();
    Multi multi(curl_multi_init());
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    // Belt and braces: the window already keeps at most `limit` transfers, and so at
    // most `limit` connections busy; this also caps the connections curl may open.
    curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, long(limit));
    // Keep `limit` idle connections. By default curl keeps 4 per easy handle *added*,
    // and between two transfers a window may have few or none added: curl 8 then closes
    // the connections it was about to reuse.
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, long(limit));
    return multi;
}

std::vector<Transfer> new_slots(std::size_t n) {
    std::vector<Transfer> slots(n);
    for (auto& t : slots) t.easy = new_easy();
    return slots;
}

}  // namespace

// ---------------------------------------------------------------- fetch_all

std::vector<Result> fetch_all(const std::vector<std::string>& urls, std::size_t max_concurrency) {
    if (max_concurrency == 0) throw std::invalid_argument("fetch_all: max_concurrency must be at least 1");
    std::vector<Result> results(urls.size());
    if (urls.empty()) return results;
    Multi multi = new_multi(max_concurrency);
    auto slots = new_slots(std::min(max_concurrency, urls.size()));
    std::size_t next_index = 0;
    auto next = [&]() -> std::optional<std::pair<std::string, std::size_t>> {
        if (next_index == urls.size()) return std::nullopt;
        std::size_t i = next_index++;
        return std::pair{urls[i], i};
    };
    // Each result goes to the slot of its URL: input order, whatever order they finish.
    run_window(multi.get(), slots, next, [&](Transfer& t, CURLcode code) { results[t.slot] = finish(t, code); });
    return results;
}

// ---------------------------------------------------------------- ChunkStore

// The store owns one I/O thread running one multi handle for its whole life, so its
// connections outlive a getitems call and the limit holds for all callers together.
// A caller queues its keys and waits on a future; the I/O thread fills it.
struct ChunkStore::Impl {
    struct Call {  // one getitems call
        std::map<std::string, std::string> items;
        std::string error;  // the first failure
        std::size_t remaining = 0;
        std::promise<void> done;
    };
    struct Work {
        std::string key;
        std::shared_ptr<Call> call;
    };

    std::string base_url;
    StoreOptions options;
    Multi multi;
    std::vector<Transfer> slots;
    std::vector<std::shared_ptr<Call>> calls_of_slot;  // which call each slot works for

    std::mutex mutex;  // guards queue and stopping
    std::deque<Work> queue;
    bool stopping = false;

    boost::asio::thread_pool compute;  // decompression: never on the I/O thread
    std::thread io;                    // last: started when everything above exists

    Impl(std::string url, StoreOptions o)
        : base_url(std::move(url)), options(o), multi(new_multi(o.max_concurrency)),
          slots(new_slots(o.max_concurrency)), calls_of_slot(o.max_concurrency),
          compute(std::max(1u, o.compute_threads)), io([this] { io_loop(); }) {}

    ~Impl() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        curl_multi_wakeup(multi.get());  // a poll in progress returns at once
        io.join();
        compute.join();
    }

    // Called by any thread: queue the keys, wake the I/O thread, wait for the answer.
    std::map<std::string, std::string> getitems(const std::vector<std::string>& keys) {
        auto call = std::make_shared<Call>();
        if (keys.empty()) return {};
        call->remaining = keys.size();
        auto answer = call->done.get_future();
        {
            std::lock_guard lock(mutex);
            for (const auto& key : keys) queue.push_back({key, call});
        }
        curl_multi_wakeup(multi.get());
        answer.get();
        if (!call->error.empty()) throw std::runtime_error(call->error);
        return std::move(call->items);
    }

    // The I/O thread: one sliding window over the shared queue, until the store closes.
    // Each transfer carries the number of its Work in `in_flight`.
    std::map<std::size_t, Work> in_flight;  // I/O thread only
    std::size_t next_id = 0;                // I/O thread only

    void io_loop() {
        auto next = [&]() -> std::optional<std::pair<std::string, std::size_t>> {
            std::lock_guard lock(mutex);
            if (queue.empty() || stopping) return std::nullopt;
            std::size_t id = next_id++;
            Work& work = in_flight[id] = std::move(queue.front());
            queue.pop_front();
            return std::pair{base_url + "/" + work.key, id};
        };
        auto done = [&](Transfer& t, CURLcode code) {
            auto node = in_flight.extract(t.slot);
            Work& work = node.mapped();
            Result r = finish(t, code);
            Call& call = *work.call;
            if (r.ok()) call.items.emplace(work.key, std::move(r.body));
            else if (r.status != 404 && call.error.empty()) call.error = "chunk key '" + work.key + "': " + r.error;
            if (--call.remaining == 0) call.done.set_value();  // the caller wakes up
        };
        for (;;) {
            run_window(multi.get(), slots, next, done, 100);
            {
                std::lock_guard lock(mutex);
                if (stopping) break;
                if (!queue.empty()) continue;
            }
            curl_multi_poll(multi.get(), nullptr, 0, 1000, nullptr);  // until a wakeup
        }
        // Keys still queued when the store closes: their callers get an error, not a hang.
        std::lock_guard lock(mutex);
        for (auto& work : queue) {
            if (work.call->error.empty()) work.call->error = "ChunkStore destroyed during getitems";
            if (--work.call->remaining == 0) work.call->done.set_value();
        }
        queue.clear();
    }
};

ChunkStore::ChunkStore(std::string base_url, StoreOptions options) {
    if (options.max_concurrency == 0) throw std::invalid_argument("ChunkStore: max_concurrency must be at least 1");
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    impl_ = std::make_unique<Impl>(std::move(base_url), options);
}

ChunkStore::~ChunkStore() = default;

const std::string& ChunkStore::base_url() const { return impl_->base_url; }

std::map<std::string, std::string> ChunkStore::getitems(const std::vector<std::string>& keys) {
    return impl_->getitems(keys);
}

namespace {

// The .zarray fields read_array supports, checked one by one so an error names the field.
struct ArrayMeta {
    std::size_t length = 0, chunk = 0;
};

ArrayMeta parse_zarray(const std::string& text) {
    auto fail = [](const std::string& why) { throw std::runtime_error(".zarray: " + why); };
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        fail(std::string("not JSON (") + e.what() + ")");
    }
    if (meta.value("zarr_format", 0) != 2) fail("zarr_format must be 2");
    if (!meta.contains("shape") || !meta["shape"].is_array() || meta["shape"].size() != 1 ||
        !meta["shape"][0].is_number_unsigned())
        fail("shape must be one whole number (a 1-D array), not " + meta.value("shape", nlohmann::json()).dump());
    if (!meta.contains("chunks") || !meta["chunks"].is_array() || meta["chunks"].size() != 1 ||
        !meta["chunks"][0].is_number_unsigned() || meta["chunks"][0].get<std::size_t>() == 0)
        fail("chunks must be one positive whole number, not " + meta.value("chunks", nlohmann::json()).dump());
    if (meta.value("dtype", nlohmann::json()) != "<f8")
        fail("dtype " + meta.value("dtype", nlohmann::json()).dump() + " is not supported (only \"<f8\")");
    auto compressor = meta.value("compressor", nlohmann::json());
    if (!compressor.is_object() || compressor.value("id", "") != "zlib")
        fail("compressor " + compressor.dump() + " is not supported (only zlib)");
    if (meta.value("order", "C") != "C") fail("order must be \"C\"");
    if (!meta.value("filters", nlohmann::json()).is_null()) fail("filters are not supported");
    return {meta["shape"][0].get<std::size_t>(), meta["chunks"][0].get<std::size_t>()};
}

// zlib-decompresses one chunk of `values` float64 and appends them to nothing: returns them.
std::vector<double> decode_chunk(const std::string& key, const std::string& packed, std::size_t values) {
    std::string raw(values * 8, '\0');
    uLongf size = uLongf(raw.size());
    int rc = uncompress(reinterpret_cast<Bytef*>(raw.data()), &size, reinterpret_cast<const Bytef*>(packed.data()),
                        uLong(packed.size()));
    if (rc != Z_OK || size != raw.size())
        throw std::runtime_error("chunk key '" + key + "' is corrupt: " +
                                 (rc == Z_OK ? "it holds " + std::to_string(size) + " bytes, not " +
                                                   std::to_string(raw.size())
                                             : std::string("zlib says ") + zError(rc)));
    std::vector<double> out(values);
    for (std::size_t k = 0; k < values; ++k) {
        std::uint64_t bits = 0;
        for (int b = 7; b >= 0; --b) bits = (bits << 8) | std::uint8_t(raw[k * 8 + std::size_t(b)]);  // little-endian
        out[k] = std::bit_cast<double>(bits);
    }
    return out;
}

}  // namespace

std::vector<double> ChunkStore::read_array() {
    auto meta_items = getitems({".zarray"});
    if (!meta_items.count(".zarray")) throw std::runtime_error(".zarray: missing at " + impl_->base_url + "/.zarray");
    ArrayMeta meta = parse_zarray(meta_items[".zarray"]);
    std::size_t n = (meta.length + meta.chunk - 1) / meta.chunk;
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < n; ++i) keys.push_back(std::to_string(i));
    auto items = getitems(keys);

    // Decompression is computing, not waiting: it runs on the compute pool, so the I/O
    // thread is free for other callers' transfers. Each task fills its own part.
    for (const auto& key : keys)  // before any task starts: a task must never outlive `array`
        if (!items.count(key))
            throw std::runtime_error("chunk key '" + key + "' is missing (404 at " + impl_->base_url + "/" + key + ")");
    std::vector<double> array(meta.length);
    std::vector<std::future<void>> decoded;
    for (std::size_t i = 0; i < n; ++i) {
        auto found = items.find(keys[i]);
        auto task = std::make_shared<std::packaged_task<void()>>([&, i, found] {
            auto values = decode_chunk(found->first, found->second, meta.chunk);
            std::size_t begin = i * meta.chunk, count = std::min(meta.chunk, meta.length - begin);
            std::copy_n(values.begin(), count, array.begin() + std::ptrdiff_t(begin));  // the rest is padding
        });
        decoded.push_back(task->get_future());
        boost::asio::post(impl_->compute, [task] { (*task)(); });
    }
    std::exception_ptr first;
    for (auto& f : decoded) {  // wait for all (they use `array`), then report the first error
        try {
            f.get();
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    if (first) std::rethrow_exception(first);
    return array;
}

// ---------------------------------------------------------------- fetch_with_retry

Result fetch_with_retry(const std::string& url, const RetryPolicy& policy) {
    if (policy.attempts < 1) throw std::invalid_argument("fetch_with_retry: attempts must be at least 1");
    auto sleep = policy.sleep ? policy.sleep : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    thread_local std::mt19937_64 random{std::random_device{}()};
    Transfer t;
    t.easy = new_easy();
    Result r;
    for (int attempt = 1;; ++attempt) {
        prepare(t, url, 0);
        r = finish(t, curl_easy_perform(t.easy.get()));  // one handle: a kept connection is reused
        bool again = r.status == 503 || r.status == 0;   // 503 or no answer; 404 etc. are final
        if (!again) return r;
        if (attempt == policy.attempts) break;
        // The server's Retry-After (seconds) wins; otherwise exponential backoff with
        // "equal jitter": a random wait in [d/2, d], d = base × 2^(attempt-1), capped.
        if (r.status == 503 && t.retry_after) {
            sleep(std::chrono::seconds(*t.retry_after));
            continue;
        }
        auto d = policy.base_delay;
        for (int k = 1; k < attempt && d < policy.max_delay; ++k) d *= 2;
        d = std::min(d, policy.max_delay);
        std::uniform_int_distribution<long long> pick(d.count() / 2, d.count());
        sleep(std::chrono::milliseconds(pick(random)));
    }
    r.error += " (gave up after " + std::to_string(policy.attempts) + " attempt" + (policy.attempts == 1 ? "" : "s") + ")";
    return r;
}

}  // namespace course::http
