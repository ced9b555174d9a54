// Tests of course::futures. They compile against the solution and against the
// exercise; every test case must fail on the stub and pass on a correct answer.
// Nothing here measures time: "ran at the same time" is proved with a latch that
// every task must reach, and every wait is bounded so a wrong pool fails instead of hanging.
// "Ran on the pool" is proved by holding every worker busy: a call that must wait for
// pool tasks is then still running after a bounded wait (it can never finish early).
// "In input order, not completion order" is proved with a named pipe standing in for a
// file: its task cannot finish until the test feeds the pipe, after the other file's.
// Each case names the README rule it guards ("Rule: ..."); solutions/03-futures/mutants/
// holds, per rule, a wrong version that the named case must catch.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "course_catch.hpp"
#include "futures.hpp"

#ifndef COURSE_DATASETS_DIR
#error "COURSE_DATASETS_DIR must name the datasets folder (set by lessons/common/CMakeLists.txt)"
#endif


// A failing check on a wait shows "ready" or "timeout", not a number.
namespace Catch {
template <>
struct StringMaker<std::future_status> {
    static std::string convert(std::future_status status) {
        switch (status) {
            case std::future_status::ready: return "ready";
            case std::future_status::timeout: return "timeout";
            case std::future_status::deferred: return "deferred";
        }
        return "?";
    }
};
}  // namespace Catch

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using course::futures::ThreadPool;

namespace {

const fs::path datasets_dir = COURSE_DATASETS_DIR;
const fs::path sample_dir = datasets_dir / "samples" / "daily-stock";

// Long enough never to trip on a slow, sanitized, shared machine; short enough that a
// pool that runs tasks one by one fails well before CTest's timeout.
constexpr auto patience = 10s;

// Waits for the latch without sleeping and without hanging: false after the deadline.
bool wait_until(std::latch& latch, std::chrono::steady_clock::time_point deadline) {
    while (!latch.try_wait()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

nlohmann::json sample_manifest() {
    std::ifstream in(sample_dir / "MANIFEST.json");
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

std::vector<fs::path> sample_files() {
    std::vector<fs::path> files;
    const auto manifest = sample_manifest();
    for (auto& f : manifest["files"]) files.push_back(sample_dir / f["file"].get<std::string>());
    return files;
}

// The closing prices of one daily-stock file, read independently of the code under test.
std::vector<double> closes_of(const fs::path& file) {
    std::ifstream in(file);
    REQUIRE(in);
    std::vector<double> closes;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) closes.push_back(nlohmann::json::parse(line)["close"].get<double>());
    return closes;
}

std::vector<std::string> lines_of(const fs::path& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// A fresh folder under the system's temp directory, removed at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() /
               ("course-03-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

// A named pipe standing in for a daily-stock file. A task that loads it waits for its
// data until the test feeds it: the test decides when that file's load can finish.
class PipeFile {
public:
    explicit PipeFile(fs::path path) : path_(std::move(path)) {
        REQUIRE(::mkfifo(path_.c_str(), 0600) == 0);
    }
    PipeFile(const PipeFile&) = delete;
    PipeFile& operator=(const PipeFile&) = delete;
    ~PipeFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    const fs::path& path() const { return path_; }

    // True once a reader (the task loading this file) has opened the pipe: its task has
    // started and now waits for data. False if none did before the deadline, or if
    // `call` returned meanwhile (then nobody is going to load it).
    template <class Future>
    bool wait_for_reader(const Future& call, std::chrono::steady_clock::time_point deadline) {
        // O_NONBLOCK: opening to write fails with ENXIO while no reader has the pipe open.
        while ((fd_ = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
            if (errno != ENXIO || call.wait_for(1ms) == std::future_status::ready ||
                std::chrono::steady_clock::now() > deadline)
                return false;
        }
        return true;
    }
    // Writes `text` and ends the file (after wait_for_reader returned true).
    void feed(std::string_view text) {
        REQUIRE(fd_ >= 0);
        ::fcntl(fd_, F_SETFL, 0);   // blocking writes from here on
        while (!text.empty()) {
            ssize_t n = ::write(fd_, text.data(), text.size());
            if (n < 0 && errno == EINTR) continue;
            REQUIRE(n > 0);
            text.remove_prefix(std::size_t(n));
        }
        ::close(fd_);
        fd_ = -1;
    }

private:
    fs::path path_;
    int fd_ = -1;
};

// The first n lines of a file, each with its newline.
std::string first_lines(const fs::path& file, std::size_t n) {
    auto lines = lines_of(file);
    std::string text;
    for (std::size_t i = 0; i < n && i < lines.size(); ++i) text += lines[i] + "\n";
    return text;
}

// Holds every worker of a pool busy with a task that waits for a gate, so that nothing
// else submitted to the pool can run until open() (or the end of the scope). The tasks
// share the latches with this object, so a task that a broken pool runs late (or never)
// touches nothing freed, and every wait here is bounded.
class HeldPool {
public:
    explicit HeldPool(ThreadPool& pool) : state_(std::make_shared<State>(pool.size())) {
        for (unsigned i = 0; i < pool.size(); ++i)
            held_.push_back(pool.submit([state = state_] {
                state->started.count_down();
                return wait_until(state->gate, state->deadline);
            }));
    }
    HeldPool(const HeldPool&) = delete;
    HeldPool& operator=(const HeldPool&) = delete;
    ~HeldPool() {
        open();
        for (auto& f : held_) f.wait_until(state_->deadline + patience);
    }
    // True once every worker has taken one of the holding tasks (false after the deadline).
    bool all_held() { return wait_until(state_->started, state_->deadline); }
    void open() {
        if (!opened_) state_->gate.count_down();
        opened_ = true;
    }

private:
    struct State {
        explicit State(unsigned workers) : started(std::ptrdiff_t(workers)) {}
        const std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::now() + patience;
        std::latch started;
        std::latch gate{1};
    };
    std::shared_ptr<State> state_;
    bool opened_ = false;
    std::vector<std::future<bool>> held_;
};

// Runs call() on a helper thread while every worker of pool is held busy, and returns
// its result (or rethrows its exception). A call that does its work as pool tasks cannot
// return before the workers are freed, so it must still be running 200 ms later; one
// that computes on the calling thread (serially, or through std::launch::deferred
// futures) or on threads of its own finishes meanwhile. The 200 ms only bound how long
// the test looks: a correct call can never be seen finished early.
template <class Call>
auto while_pool_is_held(ThreadPool& pool, Call call) -> decltype(call()) {
    HeldPool held(pool);
    REQUIRE(held.all_held());
    auto result = std::async(std::launch::async, std::move(call));
    const bool still_waiting = result.wait_for(200ms) == std::future_status::timeout;
    held.open();
    INFO("the call returned while every pool worker was busy: its work did not go through the pool");
    CHECK(still_waiting);
    return result.get();
}

}  // namespace

// Rule: submit copies f and the arguments into a job and returns a future at once; the
// call runs on a worker thread.
TEST_CASE("submit returns a future of the call's result computed on a pool thread") {
    ThreadPool pool(2);
    CHECK(pool.size() == 2u);
    auto sum = pool.submit([](int a, int b) { return a + b; }, 1, 2);
    auto added = pool.submit(course::futures::slowadd, 20, 22, 0ms);
    CHECK(sum.get() == 3);
    CHECK(added.get() == 42);

    // The call runs on one of the pool's threads, not the caller's.
    auto where = pool.submit([] { return std::this_thread::get_id(); });
    CHECK(where.get() != std::this_thread::get_id());

    // Move-only arguments and results work.
    auto owned = pool.submit([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
                             std::make_unique<int>(41));
    CHECK(*owned.get() == 42);

    // A void call gives a std::future<void>.
    std::atomic<int> touched{0};
    std::future<void> done = pool.submit([&touched] { touched = 1; });
    done.get();
    CHECK(touched == 1);
}

// Rule: submit returns at once, and copies the arguments (the call runs later, when the
// caller's variables may have changed).
TEST_CASE("submit returns before the call runs and copies its arguments") {
    ThreadPool pool(1);
    std::future<std::size_t> length;
    std::string word = "futures";
    {
        HeldPool held(pool);   // the only worker is busy until held.open()
        REQUIRE(held.all_held());
        length = pool.submit([](const std::string& s) { return s.size(); }, word);
        // No worker is free, so a correct submit has only queued the call.
        INFO("submit's future was ready while every worker was busy: the call ran on the caller's thread");
        CHECK(length.wait_for(0s) == std::future_status::timeout);
        word = "changed after submit";   // the queued job must hold its own copy
        held.open();
    }
    REQUIRE(length.wait_for(patience) == std::future_status::ready);
    INFO("the job saw the caller's variable as changed after submit: arguments must be copied into the job");
    CHECK(length.get() == 7u);
}

// Rule: the workers take jobs from one queue, oldest first.
TEST_CASE("the workers take jobs oldest first") {
    ThreadPool pool(1);
    std::vector<int> order;   // touched by the only worker; read after every future is ready
    std::vector<std::future<void>> jobs;
    {
        HeldPool held(pool);   // 20 jobs queue up behind the held worker
        REQUIRE(held.all_held());
        for (int i = 0; i < 20; ++i) jobs.push_back(pool.submit([&order, i] { order.push_back(i); }));
        held.open();
    }
    for (auto& job : jobs) REQUIRE(job.wait_for(patience) == std::future_status::ready);
    std::vector<int> expected(20);
    for (int i = 0; i < 20; ++i) expected[i] = i;
    CHECK(order == expected);
}

// Rule: when_all returns the values of the futures in the vector's order.
TEST_CASE("when_all returns every value in the order of the futures") {
    ThreadPool pool(3);
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 50; ++i) futures.push_back(pool.submit([i] { return i * i; }));
    auto values = course::futures::when_all(std::move(futures));
    REQUIRE(values.size() == 50u);
    for (int i = 0; i < 50; ++i) CHECK(values[i] == i * i);
    CHECK(course::futures::when_all(std::vector<std::future<int>>{}).empty());

    // The order is the vector's, not the order in which the values arrive: the last
    // future gets its value first, while when_all already waits, then the first, then
    // the second. when_all cannot return before all three have a value.
    std::vector<std::promise<std::string>> promises(3);
    std::vector<std::future<std::string>> late;
    for (auto& p : promises) late.push_back(p.get_future());
    auto all = std::async(std::launch::async, [&late] { return course::futures::when_all(std::move(late)); });
    promises[2].set_value("c");
    const bool waited_for_a = all.wait_for(100ms) == std::future_status::timeout;
    promises[0].set_value("a");
    const bool waited_for_b = all.wait_for(100ms) == std::future_status::timeout;
    promises[1].set_value("b");
    REQUIRE(all.wait_for(patience) == std::future_status::ready);
    CHECK(all.get() == std::vector<std::string>{"a", "b", "c"});
    INFO("when_all returned while some futures had no value yet");
    CHECK(waited_for_a);
    CHECK(waited_for_b);
}

// Rule: ThreadPool(n) starts n worker threads.
TEST_CASE("eight tasks on an eight-thread pool all run at the same time") {
    // Every task counts down, then waits for all eight to have counted down. Only a
    // pool running the eight at once lets them all through; one that runs them one
    // after another makes the first wait in vain until the deadline.
    ThreadPool pool(8);
    std::latch all_started(8);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    std::vector<std::future<bool>> met;
    for (int i = 0; i < 8; ++i)
        met.push_back(pool.submit([&all_started, deadline] {
            all_started.count_down();
            return wait_until(all_started, deadline);
        }));
    int together = 0;
    for (auto& f : met) together += f.get() ? 1 : 0;
    CHECK(together == 8);
}

// Rule: an exception thrown by f arrives at the caller's future.get(); the worker that
// ran it goes on with the next job.
TEST_CASE("an exception thrown in a task arrives at future get") {
    ThreadPool pool(2);
    auto failing = pool.submit([]() -> int { throw std::runtime_error("boom in a task"); });
    try {
        failing.get();
        FAIL("expected the task's exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "boom in a task");
    }
    auto failing_void = pool.submit([] { throw std::out_of_range("void task"); });
    CHECK_THROWS_AS(failing_void.get(), std::out_of_range);
    // Every worker survived: pool.size() tasks still run at the same time (each waits,
    // bounded, until all have started). A pool that lost a worker to the exception
    // cannot start them all: a task gives up (false), or none runs at all (not ready),
    // and the test stops here rather than wait for tasks that no worker will run. (The
    // tasks share the latch, so it outlives any that run late.)
    auto all_started = std::make_shared<std::latch>(std::ptrdiff_t(pool.size()));
    const auto deadline = std::chrono::steady_clock::now() + patience;
    std::vector<std::future<bool>> met;
    for (unsigned i = 0; i < pool.size(); ++i)
        met.push_back(pool.submit([all_started, deadline] {
            all_started->count_down();
            return wait_until(*all_started, deadline);
        }));
    for (auto& f : met) {
        REQUIRE(f.wait_until(deadline + patience) == std::future_status::ready);
        REQUIRE(f.get());
    }
    std::vector<std::future<int>> after;
    for (int i = 0; i < 10; ++i) after.push_back(pool.submit([i] { return i; }));
    for (int i = 0; i < 10; ++i) CHECK(after[i].get() == i);
}

// Rule: if some futures threw, when_all rethrows the first one in vector order, after
// all have finished.
TEST_CASE("when_all rethrows the first failure in vector order after all have finished") {
    ThreadPool pool(2);
    std::vector<std::future<int>> mixed;
    mixed.push_back(pool.submit([] { return 1; }));
    mixed.push_back(pool.submit([]() -> int { throw std::out_of_range("second"); }));
    mixed.push_back(pool.submit([]() -> int { throw std::invalid_argument("third"); }));
    CHECK_THROWS_AS(course::futures::when_all(std::move(mixed)), std::out_of_range);

    // The first future fails at once; the second has no value yet. when_all must wait
    // for it before rethrowing.
    std::promise<int> slow;
    std::vector<std::future<int>> failing_first;
    failing_first.push_back(pool.submit([]() -> int { throw std::runtime_error("first"); }));
    failing_first.push_back(slow.get_future());
    auto all = std::async(std::launch::async,
                          [&failing_first] { return course::futures::when_all(std::move(failing_first)); });
    const bool waited = all.wait_for(200ms) == std::future_status::timeout;
    slow.set_value(2);
    REQUIRE(all.wait_for(patience) == std::future_status::ready);
    CHECK_THROWS_AS(all.get(), std::runtime_error);
    INFO("when_all rethrew the first failure while another future had no value yet");
    CHECK(waited);
}

// Rule: shutdown() stops accepting work (a later submit throws std::runtime_error);
// calling it twice is fine.
TEST_CASE("submit after shutdown throws and shutdown may be called twice") {
    ThreadPool pool(2);
    auto before = pool.submit([] { return 5; });
    pool.shutdown();
    CHECK(before.get() == 5);
    CHECK_THROWS_AS(pool.submit([] { return 6; }), std::runtime_error);
    pool.shutdown();
    CHECK_THROWS_AS(pool.submit([] { return 7; }), std::runtime_error);
}

// Rule: shutdown() lets the workers finish every job already queued, and joins them.
TEST_CASE("shutdown finishes the work already queued") {
    // One thread, held by a first task until the test opens the gate: the 20 jobs behind
    // it are still queued when shutdown() begins (seen as submit() starting to throw).
    ThreadPool pool(1);
    std::latch gate(1);
    std::atomic<int> done{0};
    const auto deadline = std::chrono::steady_clock::now() + patience;
    auto blocker = pool.submit([&gate, deadline] { return wait_until(gate, deadline); });
    std::vector<std::future<void>> queued;
    for (int i = 0; i < 20; ++i) queued.push_back(pool.submit([&done] { ++done; }));

    auto closer = std::async(std::launch::async, [&pool] { pool.shutdown(); });
    bool refused = false;
    while (!refused && std::chrono::steady_clock::now() < deadline) {
        try {
            queued.push_back(pool.submit([&done] { ++done; }));
        } catch (const std::runtime_error&) {
            refused = true;   // shutdown has begun; the queue is not empty yet
        }
        std::this_thread::yield();
    }
    // shutdown() joins the workers, so it cannot return while the first task still runs.
    const bool shutdown_waited = closer.wait_for(200ms) == std::future_status::timeout;
    gate.count_down();
    REQUIRE(closer.wait_for(patience) == std::future_status::ready);
    closer.get();

    CHECK(refused);
    INFO("shutdown() returned while a job was still running: it must join the workers");
    CHECK(shutdown_waited);
    // Joined: by the time shutdown() returned, every queued job had run.
    std::size_t ready = 0;
    for (auto& f : queued) ready += f.wait_for(0s) == std::future_status::ready ? 1 : 0;
    CHECK(ready == queued.size());
    CHECK(done == int(queued.size()));
    CHECK(blocker.get());
    for (auto& f : queued) CHECK_NOTHROW(f.get());   // none broken, none cancelled
}

// Rule: ~ThreadPool() does what shutdown() does: every queued job runs, no future is broken.
TEST_CASE("the destructor finishes the work already queued") {
    std::atomic<int> done{0};
    std::vector<std::future<int>> results;
    std::latch gate(1);   // declared before the pool: it must outlive the pool's tasks
    std::latch held(1);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    auto pool = std::make_unique<ThreadPool>(1);
    // The only worker is held by a first task until the gate opens; 50 jobs queue behind it.
    results.push_back(pool->submit([&gate, &held, deadline] {
        held.count_down();
        return wait_until(gate, deadline) ? 0 : -1;
    }));
    for (int i = 1; i <= 50; ++i) results.push_back(pool->submit([&done, i] {
        ++done;
        return i;
    }));
    REQUIRE(wait_until(held, deadline));

    // Destroy the pool on another thread while the 50 jobs are still queued. The
    // destructor cannot return while the first task runs, so it is still busy 200 ms
    // later; only then is the gate opened. A destructor that drops the queue has broken
    // the 50 futures by then (and one that does not join has returned).
    auto destroyed = std::async(std::launch::async, [&pool] { pool.reset(); });
    const bool destructor_waited = destroyed.wait_for(200ms) == std::future_status::timeout;
    gate.count_down();
    destroyed.get();
    CHECK(destructor_waited);   // it waited for the running task instead of abandoning it
    CHECK(done == 50);
    for (int i = 0; i <= 50; ++i) {
        INFO("job " << i);
        try {
            CHECK(results[i].get() == i);
        } catch (const std::future_error& e) {
            FAIL_CHECK("job " << i << "'s future is broken (" << e.what() << "): the destructor dropped queued jobs");
        }
    }
}

// Rule (7.1): results in the serial loop's order, every call submitted to the pool.
TEST_CASE("slow_ops_parallel gives the serial double loop's results in order") {
    const std::vector<int> serial{1, 2, 3, 1, 3, 4, 2, 1, 5, 3, 2, 1};
    ThreadPool many(12);
    CHECK(course::futures::slow_ops_parallel(many, 1ms) == serial);
    ThreadPool one(1);
    CHECK(course::futures::slow_ops_parallel(one, 0ms) == serial);
    // The calls run as tasks of the pool it is given.
    ThreadPool few(3);
    CHECK(while_pool_is_held(few, [&few] { return course::futures::slow_ops_parallel(few, 0ms); }) == serial);
}

// Rule (7.2): one pool task per file; out_dir/<stem>.csv with the header; each file's
// row count.
TEST_CASE("load_parse_store stores every sample file and counts its rows") {
    auto manifest = sample_manifest();
    auto files = sample_files();
    REQUIRE(files.size() == 8u);
    TempDir out;
    ThreadPool pool(4);
    auto rows = while_pool_is_held(pool, [&] { return course::futures::load_parse_store(files, out.path, pool); });
    REQUIRE(rows.size() == files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
        CHECK(rows[i] == manifest["days"].get<std::size_t>());
        auto csv = out.path / (files[i].stem().string() + ".csv");
        REQUIRE(fs::exists(csv));
        auto lines = lines_of(csv);
        REQUIRE(lines.size() == rows[i] + 1);
        CHECK(lines[0] == "timestamp,open,high,low,close,volume");
        // The first row holds the first day's values, in the header's order.
        auto first = nlohmann::json::parse(lines_of(files[i]).front());
        CHECK_THAT(lines[1], StartsWith(first["timestamp"].get<std::string>() + ","));
        CHECK_THAT(lines[1], EndsWith("," + std::to_string(first["volume"].get<long long>())));
    }
}

// Rule (7.2): each file's row count, in input order (not in the order the files finish).
TEST_CASE("load_parse_store returns the row counts in input order, not completion order") {
    TempDir in, out;
    PipeFile slow(in.path / "slow.json");   // 3 rows, fed only once aet.json is done
    const std::vector<fs::path> files{slow.path(), sample_dir / "aet.json"};
    const auto deadline = std::chrono::steady_clock::now() + patience;
    ThreadPool pool(2);
    auto call = std::async(std::launch::async,
                           [&] { return course::futures::load_parse_store(files, out.path, pool); });
    // slow.json's task starts and waits for data; aet.json loads meanwhile. Once
    // aet.csv is complete, a job submitted now can only run on the worker that loaded
    // aet.json, after that task returned (the other one waits in slow.json): aet.json
    // has then finished before slow.json, for certain.
    const bool slow_started = slow.wait_for_reader(call, deadline);
    bool aet_stored = false;
    while (slow_started && !aet_stored && std::chrono::steady_clock::now() < deadline) {
        aet_stored = lines_of(out.path / "aet.csv").size() == 251;
        if (!aet_stored) std::this_thread::sleep_for(1ms);
    }
    const bool aet_finished = aet_stored && pool.submit([] {}).wait_until(deadline) == std::future_status::ready;
    if (slow_started) slow.feed(first_lines(sample_dir / "afl.json", 3));
    REQUIRE(call.wait_for(patience) == std::future_status::ready);
    auto rows = call.get();
    INFO("slow.json is the first file; its task waits for data until aet.json is stored");
    REQUIRE(slow_started);
    INFO("aet.json was not stored while slow.json's task waited for data: one pool task per file?");
    REQUIRE(aet_stored);
    REQUIRE(aet_finished);
    CHECK(rows == std::vector<std::size_t>{3, 250});
    CHECK(lines_of(out.path / "slow.csv").size() == 4u);
}

// Rule (7.2): a bad line fails its file with "<file>:<line>: ..."; the other files are
// still stored, then the first failure is rethrown.
TEST_CASE("load_parse_store names the file and line of a malformed row and stores the others") {
    const auto malformed = datasets_dir / "broken" / "daily-stock-malformed.json";
    const auto missing_close = datasets_dir / "broken" / "daily-stock-missing-close.json";
    REQUIRE(fs::exists(malformed));
    REQUIRE(fs::exists(missing_close));
    ThreadPool pool(2);
    TempDir out;
    std::vector<fs::path> files{sample_dir / "aet.json", malformed, sample_dir / "afl.json"};
    try {
        while_pool_is_held(pool, [&] { return course::futures::load_parse_store(files, out.path, pool); });
        FAIL("expected a std::runtime_error for the malformed line");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), StartsWith(malformed.string() + ":3: "));
    }
    // The good files were still loaded and stored in full.
    CHECK(lines_of(out.path / "aet.csv").size() == 251u);
    CHECK(lines_of(out.path / "afl.csv").size() == 251u);

    try {
        course::futures::load_parse_store({missing_close}, out.path, pool);
        FAIL("expected a std::runtime_error for the row without a close");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), StartsWith(missing_close.string() + ":4: "));
        CHECK_THAT(e.what(), ContainsSubstring("close"));
    }
}

// Rule (7.2): the other files are still stored before the first failure is rethrown:
// load_parse_store does not return while another file is still loading.
TEST_CASE("load_parse_store waits for every file before rethrowing a failure") {
    const auto malformed = datasets_dir / "broken" / "daily-stock-malformed.json";
    TempDir in, out;
    PipeFile slow(in.path / "slow.json");   // fed only after the malformed file has failed
    const std::vector<fs::path> files{malformed, slow.path()};
    const auto deadline = std::chrono::steady_clock::now() + patience;
    ThreadPool pool(2);
    auto call = std::async(std::launch::async,
                           [&] { return course::futures::load_parse_store(files, out.path, pool); });
    // slow.json's task starts and holds one worker; the malformed file fails on the
    // other. A job submitted now runs on that worker once the failure is in its future.
    const bool slow_started = slow.wait_for_reader(call, deadline);
    const bool failed_first = slow_started && pool.submit([] {}).wait_until(deadline) == std::future_status::ready;
    // Now a load_parse_store that rethrows at the first failure returns; a correct one
    // still waits for slow.json.
    const bool waited = call.wait_for(200ms) == std::future_status::timeout;
    if (slow_started) slow.feed(first_lines(sample_dir / "afl.json", 3));
    REQUIRE(call.wait_for(patience) == std::future_status::ready);
    try {
        call.get();
        FAIL("expected a std::runtime_error for the malformed line");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), StartsWith(malformed.string() + ":3: "));
    }
    INFO("slow.json's task never started: one pool task per file?");
    REQUIRE(slow_started);
    REQUIRE(failed_first);
    INFO("load_parse_store rethrew the failure while slow.json was still loading");
    CHECK(waited);
    CHECK(lines_of(out.path / "slow.csv").size() == 4u);
}

// Rule (7.3): Pearson; std::invalid_argument for different lengths or fewer than 2
// points; 0 for a constant series.
TEST_CASE("correlation is the Pearson coefficient") {
    using course::futures::correlation;
    std::vector<double> x{1, 2, 3, 4, 5};
    CHECK(correlation(x, {3, 5, 7, 9, 11}) == Approx(1.0));
    CHECK(correlation(x, {5, 4, 3, 2, 1}) == Approx(-1.0));
    CHECK(correlation(x, {2, 1, 4, 3, 5}) == Approx(0.8));
    CHECK(correlation(x, {7, 7, 7, 7, 7}) == 0.0);
    CHECK(correlation({7, 7, 7, 7, 7}, x) == 0.0);
    CHECK_THROWS_AS(correlation(x, {1, 2}), std::invalid_argument);
    CHECK_THROWS_AS(correlation({1}, {2}), std::invalid_argument);
}

// Rule (7.3): the two distinct series with the greatest correlation, a < b, each pair a
// pool task.
TEST_CASE("most_correlated_pair finds the closest pair of a small example") {
    ThreadPool pool(2);
    std::map<std::string, std::vector<double>> series{
        {"up", {1, 2, 3, 4, 5, 6}},
        {"down", {6, 5, 4, 3, 2, 1}},
        {"noisy", {3, 1, 4, 1, 5, 9}},
        {"also-up", {2, 4, 5, 8, 10, 12}},
    };
    auto best = while_pool_is_held(pool, [&] { return course::futures::most_correlated_pair(series, pool); });
    CHECK(best.a == "also-up");
    CHECK(best.b == "up");
    CHECK(best.r == Approx(course::futures::correlation(series["up"], series["also-up"])));

    CHECK_THROWS_AS(course::futures::most_correlated_pair({{"alone", {1, 2, 3}}}, pool), std::invalid_argument);
    CHECK_THROWS_AS(course::futures::most_correlated_pair({{"a", {1, 2, 3}}, {"b", {1, 2}}}, pool),
                    std::invalid_argument);
}

// Rule (7.3): the planted pair of the sample data (MANIFEST.json).
TEST_CASE("most_correlated_pair finds the planted pair of the sample data") {
    auto manifest = sample_manifest();
    std::map<std::string, std::vector<double>> series;
    for (auto& f : manifest["files"])
        series[f["ticker"].get<std::string>()] = closes_of(sample_dir / f["file"].get<std::string>());
    ThreadPool pool(4);
    auto best = while_pool_is_held(pool, [&] { return course::futures::most_correlated_pair(series, pool); });
    const auto& planted = manifest["planted_pair"];
    CHECK(best.a == planted["a"].get<std::string>());
    CHECK(best.b == planted["b"].get<std::string>());
    CHECK(best.r == Approx(planted["correlation"].get<double>()).epsilon(1e-9));
    CHECK(best.r > manifest["runner_up"]["correlation"].get<double>());
}
