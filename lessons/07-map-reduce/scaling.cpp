// Section 4: scaling and Amdahl's law. The topic's word_count (worker processes under a
// coordinator, intermediate files in a scratch folder) on 1, 2 and 4 workers. Past the
// cores, more workers only take turns on them.
//
//   Amdahl: if a fraction f of the one-worker time T(1) cannot run in parallel,
//
//       T(w) = T(1) * (f + (1 - f) / w)        speedup(w) = 1 / (f + (1 - f) / w)  <  1 / f
//
//   f is fitted to the measured times (least squares over the w that fit on the cores),
//   then the law predicts what 8, 64 and 1,000 workers would give: at most 1 / f however
//   many. The serial part here: starting the workers, the gap between the phases (every
//   reduce waits for the last map), the reduce wave's tail and the parent's final merge.
#include <cstdio>

#include "common/process_stats.hpp"
#include "parts.hpp"

namespace lesson07 {

namespace {

struct Run {
    unsigned workers = 0;
    double seconds = 0, cpu = 0;
    WordCounts result;
    std::vector<mr::TaskReport> reports;
    Clock::time_point origin;
};

Run run_word_count(const Settings& s, unsigned workers) {
    Run run;
    run.workers = workers;
    mr::ProcessOptions options;
    options.workers = workers;
    options.partitions = s.partitions;
    options.combiner = true;
    options.reports = &run.reports;
    double cpu0 = course::cpu_seconds();   // this process and its reaped children
    run.origin = Clock::now();
    run.result = mr::word_count(s.files, options);
    run.seconds = std::chrono::duration<double>(Clock::now() - run.origin).count();
    run.cpu = course::cpu_seconds() - cpu0;
    return run;
}

// The parts of a run during which at most one worker can be busy, from its reports.
struct SerialParts {
    double startup = 0;   // word_count called .. the first task handed out
    double between = 0;   // the last map done .. the first reduce handed out
    double finish = 0;    // the last reduce done .. word_count returned
};

SerialParts serial_parts(const Run& run) {
    double first_start = 1e300, last_map_end = 0, first_reduce_start = 1e300, last_end = 0;
    for (const auto& r : run.reports) {
        first_start = std::min(first_start, r.start);
        last_end = std::max(last_end, r.end);
        if (r.task.rfind("map", 0) == 0) last_map_end = std::max(last_map_end, r.end);
        else first_reduce_start = std::min(first_reduce_start, r.start);
    }
    if (run.reports.empty()) return {};
    return {first_start, std::max(0.0, first_reduce_start - last_map_end), std::max(0.0, run.seconds - last_end)};
}

}  // namespace

void scaling_section(course::Lesson& lesson, Settings& s) {
    lesson.section("4. Scaling and Amdahl's law: word_count on 1, 2 and 4 worker processes");
    std::vector<unsigned> counts = {1, 2, 4};
    if (std::find(counts.begin(), counts.end(), s.workers) == counts.end()) counts.push_back(s.workers);
    std::sort(counts.begin(), counts.end());

    const double serial = s.figures.serial_word_count;
    course::ResultTable table("scaling");
    std::vector<std::pair<unsigned, double>> fit_points;
    std::vector<Run> runs;
    double t1 = 0;
    for (unsigned w : counts) {
        Run run = run_word_count(s, w);
        std::string problem = first_difference(s.reference_sorted, run.result);
        if (!problem.empty()) s.wrong_result("section 4, " + std::to_string(w) + " workers: " + problem);
        if (w == 1) t1 = run.seconds;
        if (w <= s.cores) fit_points.emplace_back(w, run.seconds);
        if (w == s.workers) s.figures.processes_seconds = run.seconds;
        auto& row = table.add({.variant = "word_count, " + std::to_string(w) + (w == 1 ? " worker" : " workers"),
                               .n = s.figures.tokens, .seconds = run.seconds, .bound_seconds = serial / s.busy(w),
                               .bound = "serial/w", .workers = w, .ok = problem.empty()});
        row.extra["speedup_vs_one_worker"] = t1 > 0 ? t1 / run.seconds : 0.0;
        row.extra["speedup_vs_serial"] = serial / run.seconds;
        row.extra["cores_used"] = run.cpu / run.seconds;
        row.extra["oversubscribed"] = w > s.cores;
        runs.push_back(std::move(run));
    }
    lesson.report(table);

    std::printf("  %-10s %9s %12s %14s %11s\n", "workers", "seconds", "speedup", "vs serial", "cores used");
    for (const auto& run : runs)
        std::printf("  %-10u %9s %12s %14s %11.2f%s\n", run.workers, course::format_seconds(run.seconds).c_str(),
                    times_x(t1 / run.seconds).c_str(), times_x(serial / run.seconds).c_str(), run.cpu / run.seconds,
                    run.workers > s.cores ? "   (more workers than cores)" : "");
    std::printf("  (speedup: over 1 worker; vs serial: over the serial count of section 2, %s; cores used:\n"
                "  CPU time of the lesson and its workers / wall time)\n", human(serial).c_str());

    const double f = fit_serial_fraction(fit_points);
    std::printf("\n  Amdahl fit over 1..%u workers: serial fraction f = %.3f (%.1f %%), so at most %s however many\n",
                std::min(s.cores, counts.back()), f, 100 * f, f > 0 ? times_x(1 / f).c_str() : "unbounded");
    std::printf("  workers. Predicted speedup:");
    for (double n : {8.0, 64.0, 1000.0}) std::printf("   %.0f workers %s", n, times_x(amdahl_speedup(f, n)).c_str());
    std::printf("\n");
    if (fit_points.size() < 2)
        lesson.say("  (only one worker count fits on these cores: f cannot be fitted, 0 is printed)");
    for (const auto& run : runs)
        if (run.workers == s.workers) {
            SerialParts p = serial_parts(run);
            std::printf("  Where the serial part is, measured in the %u-worker run: starting the workers %s, every\n"
                        "  reduce waiting for the last map %s, the final merge after the last reduce %s: %s of %s\n"
                        "  (%.1f %%); the rest of f is the uneven end of each phase (a worker idle while the other\n"
                        "  finishes its last task: the lanes below do not end together) and the cost of the workers.\n",
                        run.workers, human(p.startup).c_str(), human(p.between).c_str(), human(p.finish).c_str(),
                        human(p.startup + p.between + p.finish).c_str(), human(run.seconds).c_str(),
                        100 * (p.startup + p.between + p.finish) / run.seconds);
            lesson.say("\n  the " + std::to_string(run.workers) + "-worker run, one lane per worker process:");
            course::Recorder rec;
            record_reports(rec, run.reports, run.origin);
            lesson.timeline(rec, "scaling " + std::to_string(run.workers) + " workers", 72);
        }
    std::printf("  load average now %s: other work on this machine shares the cores too.\n", load_average().c_str());
}

}  // namespace lesson07
