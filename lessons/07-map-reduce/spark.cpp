// Section 6: the original material's Spark observations in our terms. Its local[12] Spark made the 12 M
// ids as 12 tasks of 1 M (counts = [1_000_000] * 12), and:
//
//   parallelize(counts).flatMap(mapper)   0.19 s   nothing ran: a plan was built (lazy)
//   rdd.take(10)                          5.81 s   ran the first task (1 M ids), took 10
//   df.count()                           16.7 s    ran every task again (nothing was kept)
//   pandas count() of the ids in memory   0.40 s
//
// Here the same plan, 12 tasks of N/12 ids, each task a range of indices:
//
//   plan:     [0, N/12) [N/12, 2N/12) ... [11N/12, N)   built at once, nothing computed
//   take(10): task 0, id 0, 1, ..., 9, stop             a lazy path stops after the first ids
//   count():  every task, on W threads                  must make every id
//
// And what one task costs to schedule, with nothing in it: on threads (an index taken from
// an atomic counter) and on worker processes (a command line over a pipe and a reply).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "parts.hpp"

namespace lesson07 {

namespace {

using namespace std::chrono_literals;

constexpr double spark_schedule = 0.193, spark_take = 5.81, spark_count = 16.7, pandas_count = 0.403;

struct IdTask {
    std::uint64_t begin, end;
};

// Spark's parallelize: the tasks as ranges of indices; nothing is computed.
std::vector<IdTask> plan(std::uint64_t n, std::uint64_t tasks) {
    std::vector<IdTask> out;
    for (std::uint64_t t = 0; t < tasks; ++t) out.push_back({n * t / tasks, n * (t + 1) / tasks});
    return out;
}

// take(k): run the tasks in order, one id at a time, and stop as soon as k ids are out.
std::vector<std::string> take(const std::vector<IdTask>& tasks, std::size_t k, std::uint64_t seed) {
    std::vector<std::string> ids;
    for (const auto& task : tasks)
        for (std::uint64_t i = task.begin; i < task.end; ++i) {
            if (ids.size() == k) return ids;
            ids.push_back(mr::device_id(seed, i));
        }
    return ids;
}

// A folder of `count` empty .gz files (0 bytes: zero lines) for tasks with nothing to do.
struct EmptyFiles {
    fs::path dir = fs::temp_directory_path() / ("course-07-empty-" + std::to_string(::getpid()));
    std::vector<fs::path> files;
    explicit EmptyFiles(std::size_t count) {
        fs::remove_all(dir);
        fs::create_directories(dir);
        for (std::size_t i = 0; i < count; ++i) {
            files.push_back(dir / ("empty-" + std::to_string(i) + ".gz"));
            std::ofstream touch(files.back());
            if (!touch) throw std::runtime_error("cannot create " + files.back().string());
        }
    }
    ~EmptyFiles() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
};

}  // namespace

void spark_section(course::Lesson& lesson, Settings& s) {
    lesson.section("6. The original material's Spark observations in our terms: schedule, take(10), count()");
    const std::uint64_t n = s.ids.back();
    const unsigned w = s.workers;
    course::ResultTable table("spark-in-our-terms");

    // Scheduling cost per task: empty tasks, many of them.
    const std::size_t thread_tasks = s.quick ? 20'000 : 100'000, process_tasks = s.quick ? 50 : 300;
    std::vector<int> nothing(thread_tasks, 0);
    double t_threads = course::best_of(3, [&] {
        mr::map_reduce<int, int>(nothing, [](int, const mr::Emit<int, int>&) {}, [](int a, int b) { return a + b; },
                                 {.workers = w, .partitions = 1, .combiner = false});
    });
    EmptyFiles empty(process_tasks);
    mr::ProcessOptions options;
    options.workers = w;
    options.partitions = 1;
    double t_one = course::best_of(3, [&] { mr::word_count({empty.files[0]}, options); });
    double t_many = course::best_of(3, [&] { mr::word_count(empty.files, options); });
    const double per_thread_task = t_threads / double(thread_tasks);
    const double per_process_task = std::max(0.0, t_many - t_one) / double(process_tasks - 1);
    auto cost = [&](std::string variant, std::size_t tasks, double seconds, unsigned workers) {
        auto& row = table.add({.variant = std::move(variant), .n = tasks, .seconds = seconds, .bound_seconds = seconds,
                               .bound = "(a cost)", .workers = workers});
        row.extra["seconds_per_task"] = seconds / double(tasks);
    };
    cost("schedule: empty tasks on threads", thread_tasks, t_threads, w);
    cost("schedule: start workers, 2 tasks", 2, t_one, w);
    cost("schedule: empty tasks on processes", process_tasks + 1, t_many, w);

    // The original material's plan: 12 tasks of n/12 ids.
    std::vector<IdTask> tasks;
    double t_plan = course::time_seconds([&] { tasks = plan(n, 12); });
    std::vector<std::string> first_ten;
    double t_take = course::best_of(3, [&] { first_ten = take(tasks, 10, s.seed); });
    Histogram first_task{}, all{};
    double t_first_task = course::time_seconds([&] { first_task = mr::device_id_histogram(tasks[0].end, 1, s.seed); });
    // count(): every id of every task, on W threads. Section 1 measured exactly this run (the
    // same N, workers and seed); it is taken from there rather than repeated.
    double t_count = s.figures.ids_threads_seconds;
    all = s.figures.ids_threads_counts;
    std::uint64_t counted = 0, kept = 0;
    double t_kept = course::best_of(3, [&] {   // count() of what is kept: 16 numbers
        kept = 0;
        for (auto c : all) kept += c;
    });
    for (auto c : all) counted += c;
    bool take_ok = first_ten.size() == std::min<std::uint64_t>(10, n);
    for (std::size_t i = 0; i < first_ten.size(); ++i) take_ok = take_ok && first_ten[i] == mr::device_id(s.seed, i);
    if (!take_ok) s.wrong_result("section 6: take(10) did not give ids 0..9");
    if (counted != n || kept != n) s.wrong_result("section 6: count() gave " + std::to_string(counted) + ", not " + std::to_string(n));

    const double sha1 = s.figures.sha1_per_hash;
    auto add = [&](std::string variant, std::uint64_t items, double seconds, double bound, const char* bound_is,
                   unsigned workers, bool ok, double seed_seconds) {
        auto& row = table.add({.variant = std::move(variant), .n = items, .seconds = seconds, .bound_seconds = bound,
                               .bound = bound_is, .workers = workers, .ok = ok});
        row.extra["seed_seconds"] = seed_seconds;
    };
    add("plan: 12 tasks of N/12 ids", 12, t_plan, t_plan, "(a cost)", 1, tasks.size() == 12, spark_schedule);
    add("take(10): lazy, stops at 10", 10, t_take, 10 * sha1, "10*sha1", 1, take_ok, spark_take);
    std::uint64_t in_first = 0;
    for (auto c : first_task) in_first += c;
    add("take(10) as Spark: all of task 0", tasks[0].end, t_first_task, double(tasks[0].end) * sha1, "N/12*sha1", 1,
        in_first == tasks[0].end, spark_take);
    add("count(): every task (section 1)", n, t_count, double(n) * sha1 / s.busy(w), "N*sha1/w", w, counted == n, spark_count);
    add("count() of the kept counts", 16, t_kept, t_kept, "(a cost)", 1, kept == n, pandas_count);
    lesson.report(table);

    std::printf("  scheduling one task: %s on threads (an index from an atomic counter, a call), %s on worker\n"
                "  processes (a command over a pipe, an empty output file written and renamed, a reply, the\n"
                "  coordinator's poll); starting %u workers and running 2 tasks: %s.\n",
                human(per_thread_task).c_str(), human(per_process_task).c_str(), w, human(t_one).c_str());
    std::printf("\n  %-36s %12s %12s\n", "", "original (Spark)", "ours");
    auto line = [](const char* what, double seed, double ours) {
        std::printf("  %-36s %12s %12s\n", what, human(seed).c_str(), human(ours).c_str());
    };
    line("schedule 12 tasks (build the plan)", spark_schedule, t_plan);
    line("take(10)", spark_take, t_take);
    line("take(10), the whole first task", spark_take, t_first_task);
    line(("count() of " + thousands(n) + " ids").c_str(), spark_count, t_count);
    line("count() of what is in memory", pandas_count, t_kept);
    std::printf("  (the original: Spark local[12] on 12 M ids, pandas for the last line; ours: N = %s)\n",
                thousands(n).c_str());
    lesson.say("  Scheduling is cheap: a plan is a list of ranges. take(10) is cheap when the path is lazy all the");
    lesson.say("  way down: Spark's stopped after its first task, a million ids, where ours stops after ten.");
    lesson.say("  count() must make every id, unless something kept the result: Spark recomputed all 12 M");
    lesson.say("  (16.7 s), pandas only counted rows it already held (0.4 s).");
    std::printf("  the first ids, as the original printed them:\n");
    for (std::size_t i = 0; i < std::min<std::size_t>(3, first_ten.size()); ++i)
        std::printf("    ('%s',)\n", first_ten[i].c_str());
}

}  // namespace lesson07
