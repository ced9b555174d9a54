// What the sections of lesson 06 share: its settings, the store it reads, the server's
// counters, and the small libcurl tools every section builds on.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "common/lesson.hpp"
#include "common/local_server.hpp"
#include "datasets/zarr.hpp"

namespace lesson06 {

using course::Clock;

// ---------------------------------------------------------------- the store

// A 1-D Zarr v2 array of float64 behind HTTP, as its .zarray describes it.
struct Store {
    std::string url;           // "http://127.0.0.1:PORT/files/arange.zarr": key k is url + "/" + k
    std::size_t values = 0;    // shape[0]: the array is 0, 1, ..., values - 1
    std::size_t chunk = 0;     // chunks[0]: values per chunk
    std::size_t chunks() const { return (values + chunk - 1) / chunk; }
    std::string key_url(std::size_t index) const { return url + "/" + std::to_string(index); }
    std::vector<std::string> keys() const;        // "0" ... "n-1"
    std::vector<std::string> chunk_urls() const;  // key_url(0) ... key_url(n-1)
};

// GETs {url}/.zarray and checks it is what the lesson reads: a 1-D "<f8" array with zlib
// chunks. Throws naming the URL and the field otherwise.
Store open_store(const std::string& url);

// zlib-inflates chunk `index` (its stored bytes) into its place in `array` (sized
// store.values): the last chunk's padding is dropped. Throws naming the key when the bytes
// are not a zlib stream of exactly chunk × 8 bytes.
void decode_chunk(const Store& store, std::size_t index, const std::string& bytes, std::vector<double>& array);

// Checks array == 0, 1, ..., expected - 1 exactly. Throws std::runtime_error naming the
// variant and the first wrong index: a lesson that reads a wrong byte fails loudly.
void verify_arange(const std::vector<double>& array, std::size_t expected, const std::string& variant);

// ---------------------------------------------------------------- the server's counters

// What the server counted during one run (n/a: an external server without /stats, or a
// counter it cannot reset, such as the peak).
struct Counters {
    std::optional<std::uint64_t> connections_opened, requests_served, requests_failed, peak_in_flight;
};
std::string show(const std::optional<std::uint64_t>& value);   // "1289" or "n/a"

// Counts from its construction on: a built-in server is reset; an external one is read
// over GET {stats_url} at the start and at the end (differences; no peak). An empty
// stats_url: the server has none, every counter is n/a.
class CounterProbe {
public:
    explicit CounterProbe(course::LocalServer& server);
    explicit CounterProbe(std::string stats_url);
    Counters read() const;

private:
    course::LocalServer* server_ = nullptr;
    std::string stats_url_;
    Counters at_start_;
};

// Where an external server at `url` keeps its counters: {url}/stats, or /stats at the root
// of its host (the course server serves files under /files/, its counters at /stats); ""
// when neither answers JSON.
std::string find_stats_url(const std::string& url);

// ---------------------------------------------------------------- settings

// What the earlier sections measured that later ones use.
struct Figures {
    double new_connection_each = 0;   // section 1: seconds
    double one_connection = 0;        // section 2
    double all_in_flight = 0;         // section 3
    double all_in_flight_bound = 0;
    double limit_window = 0;          // section 4: the refill window at --limit
    double limit_window_bound = 0;
    // CPU seconds per chunk: of this whole process (client and built-in server) and of the
    // client thread alone, with a new connection per chunk (section 1) and on one kept
    // connection (section 2). Section 3's bound is built from them.
    double cpu_new_connection = 0, client_cpu_new_connection = 0;
    double cpu_kept_connection = 0, client_cpu_kept_connection = 0;
    bool cpu_measured() const { return cpu_new_connection > 0 && cpu_kept_connection > 0; }
};

struct Settings {
    std::size_t chunks = 0;           // --chunks: 0 = the original 6,443 values (--quick: 500)
    int latency_ms = 4;               // --latency-ms: every request waits this long
    int connect_cost_ms = 10;         // --connect-cost-ms: the first one on a connection more
    std::size_t limit = 10;           // --limit: transfers in flight at once
    std::string url;                  // --url: an external server (store at {url}/{name})
    std::string stats_url;            // its counters ("" = it has none)
    bool quick = false;
    std::unique_ptr<course::LocalServer> server;   // the built-in one (when url is empty)
    course::datasets::ZarrOptions zarr;            // the store this run reads (default: 6,443 values)
    Store store;
    Figures figures;

    double latency() const { return latency_ms / 1000.0; }
    double connect_cost() const { return connect_cost_ms / 1000.0; }
    // The built-in server's options for this run: latency, connect cost, the cache folder.
    course::ServerOptions server_options() const;
    // Starts counting on the main server (built-in or --url).
    CounterProbe probe() const;
    // A store URL on the main server for a store folder in the cache.
    std::string store_url_for(const std::filesystem::path& dir) const;
};

// The folder the built-in server serves under /files/ (datasets/cache).
std::filesystem::path cache_dir();

// ---------------------------------------------------------------- libcurl tools

// One GET and what became of it. The callbacks below fill it in.
struct Transfer {
    std::size_t index = 0;
    std::string url;
    std::string body;
    long status = 0;                   // HTTP status, 0 when no answer came
    std::string error;                 // empty when the answer was 2xx
    int local_port = 0;                // the client's end of the connection it went over
    long new_connections = 0;          // connections curl opened for it (CURLINFO_NUM_CONNECTS)
    long retry_after = 0;              // seconds, from a Retry-After header
    long http_version = 0;             // CURL_HTTP_VERSION_1_1, CURL_HTTP_VERSION_2_0, ...
    int attempts = 0;
    Clock::time_point sent{}, done{};  // request about to be sent; transfer completed
    char curl_error[CURL_ERROR_SIZE] = {};
    bool ok() const { return error.empty(); }
};

// How long any one transfer may take: no GET in this lesson can hang.
constexpr long connect_timeout_ms = 5'000;
constexpr long transfer_timeout_ms = 30'000;   // also counts time queued inside curl multi

// A new easy handle set up to GET t.url into t: body, timeouts, the moment the request
// goes out and the connection it goes over (CURLOPT_PREREQFUNCTION), t as CURLOPT_PRIVATE.
CURL* new_easy(Transfer& t);
// Points an existing handle (kept, so its connection is kept) at t.
void aim_easy(CURL* easy, Transfer& t);
// One GET with a handle of its own, on the calling thread (easy interface, blocking).
Transfer get_once(const std::string& url);
// After a transfer ended with `code`: status, error ("GET url: HTTP 503", "GET url:
// Couldn't connect ..."), Retry-After, connections opened, completion time.
void finish_transfer(CURL* easy, CURLcode code, Transfer& t);

// A curl multi handle that cleans up every easy handle still added to it when it goes,
// even when a section throws halfway.
class Multi {
public:
    Multi();
    ~Multi();
    Multi(const Multi&) = delete;
    Multi& operator=(const Multi&) = delete;
    CURLM* get() const { return multi_; }
    void add(CURL* easy);
    void remove_and_cleanup(CURL* easy);
    std::size_t running() const { return added_.size(); }

private:
    CURLM* multi_;
    std::vector<CURL*> added_;
};

// When run_multi adds the next transfer.
enum class Admission {
    all_at_once,   // everything at the start (a cap on the multi handle may queue them)
    window,        // whenever fewer than `limit` are running: refill as each completes
    waves,         // `limit` at a time, the next batch when the whole batch is done
};

struct MultiOptions {
    Admission admission = Admission::all_at_once;
    std::size_t limit = 0;            // window / waves size
    long max_total_connections = 0;   // CURLMOPT_MAX_TOTAL_CONNECTIONS (0: none)
    bool http2 = false;               // h2c with prior knowledge, multiplexed on one connection
};

// Runs every transfer on one curl multi handle on the calling thread
// (curl_multi_perform + curl_multi_info_read + curl_multi_poll), calling on_done for each
// as it completes. Returns when all are done.
void run_multi(std::vector<Transfer>& transfers, const MultiOptions& options,
               const std::function<void(Transfer&)>& on_done = {});

// Transfers for every chunk of the store, index i for key i.
std::vector<Transfer> chunk_transfers(const Store& store);

// The array from transfers of every chunk: each must have answered 2xx. Throws naming the
// variant and the key otherwise, then verifies it (verify_arange).
std::vector<double> assemble_and_verify(const Store& store, const std::vector<Transfer>& transfers,
                                        const std::string& variant);

// ---------------------------------------------------------------- timelines

// Records transfers on the timeline lane of their connection ("connection 3"), the
// connections numbered in the order they first send; at most max_lanes lanes and
// max_requests transfers are drawn (all are counted).
class ConnectionTimeline {
public:
    explicit ConnectionTimeline(std::size_t max_lanes = 10, std::size_t max_requests = SIZE_MAX);
    void add(const Transfer& t);
    void add_on(const std::string& lane, const std::string& name, Clock::time_point start, Clock::time_point end);
    std::size_t connections() const { return lane_of_port_.size(); }
    const course::Recorder& recorder() const { return rec_; }
    // "connections 1..10 of 1289 drawn" style note for the heading.
    std::string drawn() const;

private:
    course::Recorder rec_;
    std::map<int, std::size_t> lane_of_port_;
    std::size_t max_lanes_, max_requests_, drawn_ = 0, seen_ = 0;
};

// ---------------------------------------------------------------- clocks and numbers

double process_cpu_seconds();   // user + system of this process (all its threads)
double thread_cpu_seconds();    // of the calling thread (CLOCK_THREAD_CPUTIME_ID)
// Seconds spent runnable but waiting for a core (run_delay of /proc/.../schedstat): of the
// calling thread, and summed over every thread of this process. 0 where there is no /proc.
double thread_run_queue_seconds();
double process_run_queue_seconds();
std::string human(double seconds);   // "12.3 ms", "1.24 s"
double seconds_between(Clock::time_point a, Clock::time_point b);
// The least wall time CPU work can take here: the whole process's CPU seconds spread over
// every core, but never less than the client's share, which runs on its one thread.
double cpu_floor(double process_cpu, double client_thread_cpu);
// ceil(n / limit) × latency + connect: `limit` connections, each paying connect once, each
// then doing its share of requests one after another.
double window_bound(std::size_t n, std::size_t limit, double latency, double connect);

// ---------------------------------------------------------------- child processes

// A program run as a child process, its stdout and stderr sent to a temporary file. The
// destructor ends it (stop_signal, then SIGKILL after a grace period) and reaps it and any
// process it started, so nothing outlives its section, even when the section throws. The
// child also gets SIGKILL if this process dies first (PR_SET_PDEATHSIG).
class ChildProcess {
public:
    explicit ChildProcess(std::vector<std::string> argv, int stop_signal = SIGTERM);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running();                                   // reaps it if it has exited
    // Waits up to `limit` for it to exit; returns its exit code, or nothing when it did not
    // exit in time (it is then killed and reaped) or was killed by a signal.
    std::optional<int> wait_for(std::chrono::milliseconds limit);
    void stop();                                      // stop_signal, grace, SIGKILL; reaps
    std::string output() const;                       // what it printed so far
    double cpu_seconds() const { return cpu_seconds_; }   // user + system, once reaped

private:
    void reaped(int status, const struct rusage& usage);
    pid_t pid_ = -1;
    int stop_signal_;
    std::string output_path_;
    std::optional<int> exit_code_;
    double cpu_seconds_ = 0;
};

// CPU seconds (user + system) used so far by a running process and its descendants, read
// from /proc (0 where there is no /proc).
double process_tree_cpu_seconds(pid_t pid);
// The full path of `name` on PATH, or in /usr/sbin, /usr/local/sbin, /sbin; empty if none.
std::string find_program(const std::string& name);
// A TCP port on 127.0.0.1 free a moment ago.
int free_port();
// True once something accepts connections on 127.0.0.1:port, false after `limit`.
bool wait_until_listening(int port, std::chrono::milliseconds limit, ChildProcess* child = nullptr);
// "http://host:port/path" -> host, port, path ("/" when none). Throws on anything else.
struct HttpUrl {
    std::string host;
    int port = 80;
    std::string path;
};
HttpUrl parse_http_url(const std::string& url);

// ---------------------------------------------------------------- the sections

void new_connection_each_section(course::Lesson& lesson, Settings& s);   // 1
void one_connection_section(course::Lesson& lesson, Settings& s);        // 2
void all_in_flight_section(course::Lesson& lesson, Settings& s);         // 3
void limits_section(course::Lesson& lesson, Settings& s);                // 4
void beast_section(course::Lesson& lesson, Settings& s);                 // 5
void getitems_section(course::Lesson& lesson, Settings& s);              // 6
void failures_section(course::Lesson& lesson, Settings& s);              // 7
void waves_section(course::Lesson& lesson, Settings& s);                 // 8
void http2_section(course::Lesson& lesson, Settings& s);                 // 9
void comparison_section(course::Lesson& lesson, Settings& s);            // 10

}  // namespace lesson06
