// Tests of course::futures. They compile against the solution and against the
// exercise; every test case must fail on the stub and pass on a correct answer.
// Nothing here measures time: "ran at the same time" is proved with a latch that
// every task must reach, and every wait is bounded so a wrong pool fails instead of hanging.
// "Ran on the pool" is proved by holding every worker busy: a call that must wait for
// pool tasks is then still running after a bounded wait (it can never finish early).
#include <atomic>
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

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "course_catch.hpp"
#include "futures.hpp"

#ifndef COURSE_DATASETS_DIR
#error "COURSE_DATASETS_DIR must name the datasets folder (set by lessons/common/CMakeLists.txt)"
#endif


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

    // Arguments are copied into the task (the caller may change its variable afterwards),
    // and move-only arguments and results work.
    std::string word = "futures";
    auto length = pool.submit([](const std::string& s) { return s.size(); }, word);
    word.clear();
    CHECK(length.get() == 7u);
    auto owned = pool.submit([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
                             std::make_unique<int>(41));
    CHECK(*owned.get() == 42);

    // A void call gives a std::future<void>.
    std::atomic<int> touched{0};
    std::future<void> done = pool.submit([&touched] { touched = 1; });
    done.get();
    CHECK(touched == 1);
}

TEST_CASE("when_all returns every value in the order of the futures") {
    ThreadPool pool(3);
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 50; ++i) futures.push_back(pool.submit([i] { return i * i; }));
    auto values = course::futures::when_all(std::move(futures));
    REQUIRE(values.size() == 50u);
    for (int i = 0; i < 50; ++i) CHECK(values[i] == i * i);

    // The order is the vector's, not the order in which the values arrive.
    std::vector<std::promise<std::string>> promises(3);
    std::vector<std::future<std::string>> late;
    for (auto& p : promises) late.push_back(p.get_future());
    promises[2].set_value("c");
    promises[0].set_value("a");
    promises[1].set_value("b");
    CHECK(course::futures::when_all(std::move(late)) == std::vector<std::string>{"a", "b", "c"});
    CHECK(course::futures::when_all(std::vector<std::future<int>>{}).empty());
}

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

TEST_CASE("an exception thrown in a task arrives at future get") {
    ThreadPool pool(2);
    auto failing = pool.submit([]() -> int { throw std::runtime_error("boom in a task"); });
    try {
        failing.get();
        FAIL("expected the task's exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "boom in a task");
    }
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

    // when_all rethrows the first failure in vector order.
    std::vector<std::future<int>> mixed;
    mixed.push_back(pool.submit([] { return 1; }));
    mixed.push_back(pool.submit([]() -> int { throw std::out_of_range("second"); }));
    mixed.push_back(pool.submit([]() -> int { throw std::invalid_argument("third"); }));
    CHECK_THROWS_AS(course::futures::when_all(std::move(mixed)), std::out_of_range);
}

TEST_CASE("submit after shutdown throws and shutdown may be called twice") {
    ThreadPool pool(2);
    auto before = pool.submit([] { return 5; });
    pool.shutdown();
    CHECK(before.get() == 5);
    CHECK_THROWS_AS(pool.submit([] { return 6; }), std::runtime_error);
    pool.shutdown();
    CHECK_THROWS_AS(pool.submit([] { return 7; }), std::runtime_error);
}

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

    std::thread closer([&pool] { pool.shutdown(); });
    bool refused = false;
    while (!refused && std::chrono::steady_clock::now() < deadline) {
        try {
            queued.push_back(pool.submit([&done] { ++done; }));
        } catch (const std::runtime_error&) {
            refused = true;   // shutdown has begun; the queue is not empty yet
        }
        std::this_thread::yield();
    }
    gate.count_down();
    closer.join();

    CHECK(refused);
    CHECK(blocker.get());
    for (auto& f : queued) CHECK_NOTHROW(f.get());   // none broken, none cancelled
    CHECK(done == int(queued.size()));
}

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
    // later, by then long past the point where it stopped taking new work; only then is
    // the gate opened. A destructor that drops the queue loses the 50 jobs.
    auto destroyed = std::async(std::launch::async, [&pool] { pool.reset(); });
    const bool destructor_waited = destroyed.wait_for(200ms) == std::future_status::timeout;
    gate.count_down();
    destroyed.get();
    CHECK(destructor_waited);   // it waited for the running task instead of abandoning it
    CHECK(done == 50);
    for (int i = 0; i <= 50; ++i) CHECK(results[i].get() == i);
}

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
        CHECK(lines[1].rfind(first["timestamp"].get<std::string>() + ",", 0) == 0);
        CHECK(lines[1].find("," + std::to_string(first["volume"].get<long long>())) != std::string::npos);
    }
}

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
        std::string what = e.what();
        INFO(what);
        CHECK(what.find("daily-stock-malformed.json:3") != std::string::npos);
    }
    // The good files were still loaded and stored in full.
    CHECK(lines_of(out.path / "aet.csv").size() == 251u);
    CHECK(lines_of(out.path / "afl.csv").size() == 251u);

    try {
        course::futures::load_parse_store({missing_close}, out.path, pool);
        FAIL("expected a std::runtime_error for the row without a close");
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        INFO(what);
        CHECK(what.find("daily-stock-missing-close.json:4") != std::string::npos);
        CHECK(what.find("close") != std::string::npos);
    }
}

TEST_CASE("correlation is the Pearson coefficient") {
    using course::futures::correlation;
    std::vector<double> x{1, 2, 3, 4, 5};
    CHECK(correlation(x, {3, 5, 7, 9, 11}) == Approx(1.0));
    CHECK(correlation(x, {5, 4, 3, 2, 1}) == Approx(-1.0));
    CHECK(correlation(x, {2, 1, 4, 3, 5}) == Approx(0.8));
    CHECK(correlation(x, {7, 7, 7, 7, 7}) == 0.0);
    CHECK_THROWS_AS(correlation(x, {1, 2}), std::invalid_argument);
    CHECK_THROWS_AS(correlation({1}, {2}), std::invalid_argument);
}

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
