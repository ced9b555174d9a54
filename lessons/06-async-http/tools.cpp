// The tools every section of lesson 06 uses (see parts.hpp): the store, the server's
// counters, one libcurl transfer, a curl multi loop, timelines, clocks.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "datasets/corpus.hpp"   // datasets_dir()
#include "parts.hpp"

namespace lesson06 {

// ---------------------------------------------------------------- the store

std::vector<std::string> Store::keys() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < chunks(); ++i) out.push_back(std::to_string(i));
    return out;
}

std::vector<std::string> Store::chunk_urls() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < chunks(); ++i) out.push_back(key_url(i));
    return out;
}

Store open_store(const std::string& url) {
    Transfer t = get_once(url + "/.zarray");
    if (!t.ok()) throw std::runtime_error("cannot read the store's metadata: " + t.error);
    Store store;
    store.url = url;
    try {
        auto meta = nlohmann::json::parse(t.body);
        if (meta.at("shape").size() != 1 || meta.at("chunks").size() != 1)
            throw std::runtime_error("shape and chunks must be 1-D");
        store.values = meta.at("shape")[0].get<std::size_t>();
        store.chunk = meta.at("chunks")[0].get<std::size_t>();
        if (meta.at("dtype") != "<f8") throw std::runtime_error("dtype must be \"<f8\"");
        if (meta.at("compressor").at("id") != "zlib") throw std::runtime_error("compressor must be zlib");
        if (store.chunk == 0) throw std::runtime_error("chunks[0] must be positive");
    } catch (const std::exception& e) {
        throw std::runtime_error(url + "/.zarray: " + e.what());
    }
    return store;
}

void decode_chunk(const Store& store, std::size_t index, const std::string& bytes, std::vector<double>& array) {
    std::vector<double> raw(store.chunk);
    uLongf size = uLongf(raw.size() * sizeof(double));
    int rc = uncompress(reinterpret_cast<Bytef*>(raw.data()), &size, reinterpret_cast<const Bytef*>(bytes.data()),
                        uLong(bytes.size()));
    if (rc != Z_OK || size != raw.size() * sizeof(double))
        throw std::runtime_error("chunk " + std::to_string(index) + " (" + store.key_url(index) +
                                 "): not a zlib stream of " + std::to_string(raw.size() * 8) + " bytes (zlib: " +
                                 (rc == Z_OK ? std::to_string(size) + " bytes" : std::string(zError(rc))) + ")");
    // "<f8" is little-endian; so is every machine this course runs on (x86-64, arm64).
    std::size_t first = index * store.chunk;
    std::size_t count = std::min(store.chunk, store.values - first);   // the last chunk is padded
    std::copy_n(raw.begin(), count, array.begin() + std::ptrdiff_t(first));
}

void verify_arange(const std::vector<double>& array, std::size_t expected, const std::string& variant) {
    if (array.size() != expected)
        throw std::runtime_error(variant + ": the array has " + std::to_string(array.size()) + " values, expected " +
                                 std::to_string(expected));
    for (std::size_t i = 0; i < array.size(); ++i)
        if (array[i] != double(i)) {
            char what[160];
            std::snprintf(what, sizeof what, ": value [%zu] is %.17g, expected %zu: the array read is WRONG", i,
                          array[i], i);
            throw std::runtime_error(variant + what);
        }
}

std::vector<Transfer> chunk_transfers(const Store& store) {
    std::vector<Transfer> transfers(store.chunks());
    for (std::size_t i = 0; i < transfers.size(); ++i) {
        transfers[i].index = i;
        transfers[i].url = store.key_url(i);
    }
    return transfers;
}

std::vector<double> assemble_and_verify(const Store& store, const std::vector<Transfer>& transfers,
                                        const std::string& variant) {
    if (transfers.size() != store.chunks())
        throw std::runtime_error(variant + ": " + std::to_string(transfers.size()) + " chunks read, the store has " +
                                 std::to_string(store.chunks()));
    std::vector<double> array(store.values);
    for (const auto& t : transfers) {
        if (!t.ok()) throw std::runtime_error(variant + ": chunk " + std::to_string(t.index) + " failed: " + t.error);
        try {
            decode_chunk(store, t.index, t.body, array);
        } catch (const std::exception& e) {
            throw std::runtime_error(variant + ": " + e.what());
        }
    }
    verify_arange(array, store.values, variant);
    return array;
}

// ---------------------------------------------------------------- the server's counters

std::string show(const std::optional<std::uint64_t>& value) { return value ? std::to_string(*value) : "n/a"; }

namespace {

// The counters of GET {stats_url}, or nothing when the server has none.
std::optional<nlohmann::json> stats_of(const std::string& stats_url) {
    if (stats_url.empty()) return std::nullopt;
    Transfer t = get_once(stats_url);
    if (!t.ok()) return std::nullopt;
    try {
        return nlohmann::json::parse(t.body);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<std::uint64_t> field(const std::optional<nlohmann::json>& stats, const char* name) {
    if (!stats || !stats->contains(name)) return std::nullopt;
    return (*stats)[name].get<std::uint64_t>();
}

}  // namespace

CounterProbe::CounterProbe(course::LocalServer& server) : server_(&server) { server.reset_stats(); }

CounterProbe::CounterProbe(std::string stats_url) : stats_url_(std::move(stats_url)) {
    auto stats = stats_of(stats_url_);
    at_start_ = {field(stats, "connections_opened"), field(stats, "requests_served"), field(stats, "requests_failed"),
                 std::nullopt};
}

Counters CounterProbe::read() const {
    if (server_) {
        auto s = server_->stats();
        return {s.connections_opened, s.requests_served, s.requests_failed, s.peak_in_flight};
    }
    auto stats = stats_of(stats_url_);
    auto since = [&](const char* name, const std::optional<std::uint64_t>& start) -> std::optional<std::uint64_t> {
        auto now = field(stats, name);
        if (!now || !start) return std::nullopt;
        return *now - *start;
    };
    // The connection of this very /stats request is counted in `now`: not the run's.
    auto connections = since("connections_opened", at_start_.connections_opened);
    if (connections && *connections > 0) --*connections;
    return {connections,
            since("requests_served", at_start_.requests_served), since("requests_failed", at_start_.requests_failed),
            std::nullopt};   // a peak since the server started says nothing about this run
}

std::string find_stats_url(const std::string& url) {
    std::vector<std::string> candidates{url + "/stats"};
    try {
        HttpUrl parsed = parse_http_url(url);
        if (parsed.path != "/") candidates.push_back("http://" + parsed.host + ":" + std::to_string(parsed.port) + "/stats");
    } catch (const std::exception&) {
        // not a URL we can take apart: only the first candidate
    }
    for (auto& candidate : candidates) {
        auto stats = stats_of(candidate);
        if (stats && stats->is_object() && stats->contains("connections_opened")) return candidate;
    }
    return "";
}

// ---------------------------------------------------------------- settings

std::filesystem::path cache_dir() { return course::datasets::datasets_dir() / "cache"; }

course::ServerOptions Settings::server_options() const {
    course::ServerOptions o;
    o.latency = std::chrono::milliseconds(latency_ms);
    o.connect_cost = std::chrono::milliseconds(connect_cost_ms);
    o.files_dir = cache_dir().string();
    return o;
}

CounterProbe Settings::probe() const { return server ? CounterProbe(*server) : CounterProbe(stats_url); }

std::string Settings::store_url_for(const std::filesystem::path& dir) const {
    return (server ? server->url() + "/files" : url) + "/" + dir.filename().string();
}

// ---------------------------------------------------------------- one transfer

namespace {

// libcurl hands the body over in pieces, as they arrive: append them (they may hold '\0').
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<Transfer*>(user)->body.append(data, size * count);
    return size * count;
}

// Called when the connection is ready (new or reused), just before the request is sent:
// the moment the request starts and the connection it goes over (the client's port).
int on_request_ready(void* user, char* /*server_ip*/, char* /*local_ip*/, int /*server_port*/, int local_port) {
    auto* t = static_cast<Transfer*>(user);
    t->sent = Clock::now();
    t->local_port = local_port;
    return CURL_PREREQFUNC_OK;
}

}  // namespace

void aim_easy(CURL* easy, Transfer& t) {
    t.body.clear();
    t.error.clear();
    t.status = 0;
    t.curl_error[0] = '\0';
    ++t.attempts;
    curl_easy_setopt(easy, CURLOPT_URL, t.url.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, on_request_ready);
    curl_easy_setopt(easy, CURLOPT_PREREQDATA, &t);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.curl_error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, transfer_timeout_ms);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);   // threads here: no SIGALRM for timeouts
}

CURL* new_easy(Transfer& t) {
    CURL* easy = curl_easy_init();
    if (!easy) throw std::runtime_error("curl_easy_init failed (out of memory?)");
    aim_easy(easy, t);
    return easy;
}

void finish_transfer(CURL* easy, CURLcode code, Transfer& t) {
    t.done = Clock::now();
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.status);
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    t.new_connections += connects;
    curl_off_t retry_after = 0;
    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
    t.retry_after = long(retry_after);
    curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &t.http_version);
    if (code != CURLE_OK)
        t.error = "GET " + t.url + ": " + (t.curl_error[0] ? t.curl_error : curl_easy_strerror(code));
    else if (t.status < 200 || t.status > 299)
        t.error = "GET " + t.url + ": HTTP " + std::to_string(t.status);
}

Transfer get_once(const std::string& url) {
    Transfer t;
    t.url = url;
    CURL* easy = new_easy(t);
    CURLcode code = curl_easy_perform(easy);
    finish_transfer(easy, code, t);
    curl_easy_cleanup(easy);
    return t;
}

// ---------------------------------------------------------------- curl multi

Multi::Multi() : multi_(curl_multi_init()) {
    if (!multi_) throw std::runtime_error("curl_multi_init failed (out of memory?)");
}

Multi::~Multi() {
    for (CURL* easy : added_) {
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
    }
    curl_multi_cleanup(multi_);
}

void Multi::add(CURL* easy) {
    added_.push_back(easy);
    if (CURLMcode rc = curl_multi_add_handle(multi_, easy); rc != CURLM_OK) {
        added_.pop_back();
        curl_easy_cleanup(easy);
        throw std::runtime_error(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
    }
}

void Multi::remove_and_cleanup(CURL* easy) {
    curl_multi_remove_handle(multi_, easy);
    curl_easy_cleanup(easy);
    added_.erase(std::find(added_.begin(), added_.end(), easy));
}

void run_multi(std::vector<Transfer>& transfers, const MultiOptions& options,
               const std::function<void(Transfer&)>& on_done) {
    Multi multi;
    std::size_t limit = options.limit ? options.limit : std::max<std::size_t>(1, transfers.size());
    // Keep every connection of the window in the cache between transfers. (curl's default
    // is 4 × the handles added at the moment: between two waves that is none, and the
    // connections would be closed and paid for again.)
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, long(limit));
    if (options.max_total_connections > 0)
        curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, options.max_total_connections);
    // HTTP/2 over plain http:// (h2c). Prior knowledge skips the upgrade, but libcurl
    // before 8.0 breaks a reused prior-knowledge connection ("Error in the HTTP2 framing
    // layer", curl issue #10634): there the first request upgrades, the rest multiplex.
    long h2 = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000 ? long(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
                                                                           : long(CURL_HTTP_VERSION_2_0);
    if (options.http2) {
        // One connection, every transfer a stream on it: curl waits for the connection
        // (PIPEWAIT) instead of opening more, and lets all streams run at once.
        curl_multi_setopt(multi.get(), CURLMOPT_PIPELINING, long(CURLPIPE_MULTIPLEX));
        curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
        curl_multi_setopt(multi.get(), CURLMOPT_MAX_CONCURRENT_STREAMS, long(limit));
    }
    std::size_t next = 0, finished = 0;

    auto start_next = [&] {
        CURL* easy = new_easy(transfers[next++]);
        if (options.http2) {
            curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, h2);
            curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
        }
        multi.add(easy);
    };
    // Who may start now: the admission rule is the whole difference between the variants.
    auto admit = [&] {
        switch (options.admission) {
            case Admission::all_at_once:
                while (next < transfers.size()) start_next();
                break;
            case Admission::window:   // refill: a slot freed is a slot taken
                while (next < transfers.size() && multi.running() < limit) start_next();
                break;
            case Admission::waves:    // the next batch only once the whole batch is done
                if (multi.running() == 0)
                    for (std::size_t k = 0; k < limit && next < transfers.size(); ++k) start_next();
                break;
        }
    };

    admit();
    while (finished < transfers.size()) {
        int still_running = 0;
        if (CURLMcode rc = curl_multi_perform(multi.get(), &still_running); rc != CURLM_OK)
            throw std::runtime_error(std::string("curl_multi_perform: ") + curl_multi_strerror(rc));
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL* easy = message->easy_handle;
            Transfer* t = nullptr;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
            finish_transfer(easy, message->data.result, *t);
            multi.remove_and_cleanup(easy);   // its connection stays in the multi's cache
            ++finished;
            if (on_done) on_done(*t);
        }
        admit();
        // Sleep until a socket is ready or curl's next timeout (new handles: at once).
        if (finished < transfers.size()) curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
    }
}

// ---------------------------------------------------------------- timelines

ConnectionTimeline::ConnectionTimeline(std::size_t max_lanes, std::size_t max_requests)
    : max_lanes_(max_lanes), max_requests_(max_requests) {}

void ConnectionTimeline::add(const Transfer& t) {
    if (t.sent == Clock::time_point{}) return;   // never sent: nothing to draw
    auto [it, fresh] = lane_of_port_.emplace(t.local_port, lane_of_port_.size());
    (void)fresh;
    ++seen_;
    if (it->second >= max_lanes_ || drawn_ >= max_requests_) return;
    ++drawn_;
    rec_.record_on("connection " + std::to_string(it->second + 1), "GET key " + std::to_string(t.index), t.sent,
                   t.done);
}

void ConnectionTimeline::add_on(const std::string& lane, const std::string& name, Clock::time_point start,
                                Clock::time_point end) {
    ++seen_;
    ++drawn_;
    rec_.record_on(lane, name, start, end);
}

std::string ConnectionTimeline::drawn() const {
    std::string text = std::to_string(drawn_) + " of " + std::to_string(seen_) + " requests drawn";
    if (lane_of_port_.size() > max_lanes_)
        text += ", connections 1.." + std::to_string(max_lanes_) + " of " + std::to_string(lane_of_port_.size());
    return text;
}

// ---------------------------------------------------------------- clocks and numbers

double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

namespace {

// The second field of a schedstat file: nanoseconds spent waiting on a run queue.
double run_delay_of(const std::filesystem::path& schedstat) {
    std::ifstream in(schedstat);
    unsigned long long on_cpu = 0, waiting = 0;
    if (!(in >> on_cpu >> waiting)) return 0;
    return double(waiting) / 1e9;
}

}  // namespace

double thread_run_queue_seconds() { return run_delay_of("/proc/thread-self/schedstat"); }

double process_run_queue_seconds() {
    double total = 0;
    std::error_code ec;
    for (auto& task : std::filesystem::directory_iterator("/proc/self/task", ec))
        total += run_delay_of(task.path() / "schedstat");
    return total;
}

std::string human(double seconds) { return course::format_duration(seconds); }

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double cpu_floor(double process_cpu, double client_thread_cpu) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return std::max(process_cpu / cores, client_thread_cpu);
}

double window_bound(std::size_t n, std::size_t limit, double latency, double connect) {
    std::size_t rounds = (n + limit - 1) / std::max<std::size_t>(1, limit);
    return double(rounds) * latency + connect;
}

}  // namespace lesson06
