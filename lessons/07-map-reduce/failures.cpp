// Section 5: failures. What a framework earns its keep with: a worker dies, the job does not.
//
//   coordinator ──"map 2 0"──▶ worker A ── writes map-2-a0-r0 .. r1, then SIGKILL (the test hook)
//        ▲                        ╳ its pipe closes: read() returns 0; waitpid: killed by signal 9
//        └── "map 2" back in the queue ──"map 2 1"──▶ worker B (or A's replacement) ── all R files
//
//   The re-run is only correct because a task's output appears atomically and exactly once:
//   each attempt writes its own files (…-a0-…, …-a1-…) under a temporary name and renames
//   each when complete, and the coordinator counts the first completion of a task only.
//   The dead attempt's files are never read.
//
//   A straggler (a worker slowed on purpose) holds up the whole phase: every reduce waits for
//   the last map. Backup tasks (the MapReduce paper's remedy): when nothing is left to hand
//   out, run the tasks still in flight a second time on idle workers, take whichever copy
//   finishes first, stop the other.
#include <signal.h>

#include <cstdio>
#include <map>

#include "parts.hpp"

namespace lesson07 {

namespace {

using namespace std::chrono_literals;

struct FaultRun {
    std::string label;
    double seconds = 0;
    WordCounts result;
    std::vector<mr::TaskReport> reports;
    Clock::time_point origin;
};

FaultRun run_with(const Settings& s, std::string label, mr::Fault fault, bool backup_tasks) {
    FaultRun run;
    run.label = std::move(label);
    mr::ProcessOptions options;
    options.workers = s.workers;
    options.partitions = s.partitions;
    options.combiner = true;
    options.backup_tasks = backup_tasks;
    options.fault = std::move(fault);
    options.reports = &run.reports;
    run.origin = Clock::now();
    run.result = mr::word_count(s.files, options);
    run.seconds = std::chrono::duration<double>(Clock::now() - run.origin).count();
    return run;
}

// What the reports say about one task, and whether every task was counted exactly once.
struct Audit {
    std::vector<const mr::TaskReport*> attempts;   // of the task under test, in order
    int killed = 0, reruns = 0, accepted = 0;      // of the task under test
    std::size_t tasks = 0;                         // distinct tasks in the run
    bool each_counted_once = true;
};

Audit audit(const FaultRun& run, const std::string& task) {
    Audit a;
    std::map<std::string, int> accepted;
    for (const auto& r : run.reports) {
        accepted[r.task] += r.accepted ? 1 : 0;
        if (r.task != task) continue;
        a.attempts.push_back(&r);
        a.killed += r.signal == SIGKILL;
        a.reruns += r.rerun;
        a.accepted += r.accepted;
    }
    a.tasks = accepted.size();
    for (const auto& [name, times] : accepted) a.each_counted_once = a.each_counted_once && times == 1;
    return a;
}

// The time the attempts of `task` spent working and then were thrown away.
double wasted(const Audit& a) {
    double seconds = 0;
    for (const auto* r : a.attempts)
        if (!r->accepted && r->end > r->start) seconds += r->end - r->start;
    return seconds;
}

void show(course::Lesson& lesson, const FaultRun& run, const std::string& task, const Audit& a) {
    std::printf("  %s: one lane per worker process, one character per task run\n", run.label.c_str());
    course::Recorder rec;
    record_reports(rec, run.reports, run.origin);
    lesson.timeline(rec, "failures: " + run.label, 72);
    std::printf("    the %zu attempt%s of %s:\n", a.attempts.size(), a.attempts.size() == 1 ? "" : "s", task.c_str());
    for (const auto* r : a.attempts)
        std::printf("    '%c' %s\n", timeline_mark(run.reports, std::size_t(r - run.reports.data())),
                    describe(*r).c_str());
    std::printf("    every one of the %zu tasks counted exactly once: %s; re-runs reported by the coordinator: %d\n",
                a.tasks, a.each_counted_once ? "yes" : "NO", a.reruns);
}

}  // namespace

void failures_section(course::Lesson& lesson, Settings& s) {
    lesson.section("5. Failures: a worker killed mid-task, and a straggler with and without backup tasks");
    const std::size_t m = s.files.size();
    const std::string map_task = "map " + std::to_string(m / 2);
    const std::string reduce_task = "reduce " + std::to_string(s.partitions / 2);
    const std::string late_task = "map " + std::to_string(m - 1);   // the last handed out: nothing left to overlap it
    const auto stall = s.quick ? 500ms : 2000ms;
    const double ideal = s.figures.serial_word_count / s.busy(s.workers);
    lesson.say("The test hook of ProcessOptions.fault: the worker that runs the named task (its first attempt)");
    lesson.say("kills itself with SIGKILL halfway through, or sleeps " + human(stall.count() / 1000.0) +
               " before starting it. Each run's counts are checked against the serial count.\n");

    course::ResultTable table("failures");
    auto add = [&](const FaultRun& run, const std::string& task, double bound, const char* bound_is) {
        std::string problem = first_difference(s.reference_sorted, run.result);
        Audit a = audit(run, task);
        if (problem.empty() && !a.each_counted_once) problem = "a task was counted twice or never";
        if (!problem.empty()) s.wrong_result("section 5, " + run.label + ": " + problem);
        auto& row = table.add({.variant = run.label, .n = s.figures.tokens, .seconds = run.seconds,
                               .bound_seconds = bound, .bound = bound_is, .workers = s.workers, .ok = problem.empty()});
        row.extra["task"] = task;
        row.extra["attempts"] = a.attempts.size();
        row.extra["reruns"] = a.reruns;
        row.extra["killed"] = a.killed;
        row.extra["wasted_seconds"] = wasted(a);
        return a;
    };

    // 1. SIGKILL in a map task, then in a reduce task. The bound: the ideal time of the work
    //    actually done, the lost half-attempt included.
    FaultRun map_kill = run_with(s, "SIGKILL in " + map_task, {mr::Fault::Kind::kill, map_task, 0ms}, false);
    FaultRun reduce_kill = run_with(s, "SIGKILL in " + reduce_task, {mr::Fault::Kind::kill, reduce_task, 0ms}, false);
    // 2. The straggler, without and with backup tasks.
    FaultRun slow = run_with(s, "straggler " + late_task + ", no backups", {mr::Fault::Kind::stall, late_task, stall}, false);
    FaultRun backed = run_with(s, "straggler " + late_task + ", backups", {mr::Fault::Kind::stall, late_task, stall}, true);

    Audit a_map = add(map_kill, map_task, ideal + wasted(audit(map_kill, map_task)) / s.busy(s.workers), "ideal+lost");
    Audit a_reduce = add(reduce_kill, reduce_task, ideal + wasted(audit(reduce_kill, reduce_task)) / s.busy(s.workers),
                         "ideal+lost");
    // Without backups nothing can start the slow task elsewhere before its worker wakes: the
    // stall adds to the ideal time. With them the stall can be hidden entirely.
    const double stall_s = std::chrono::duration<double>(stall).count();
    Audit a_slow = add(slow, late_task, ideal + stall_s, "ideal+stall");
    Audit a_backed = add(backed, late_task, ideal, "serial/w");
    lesson.report(table);
    std::printf("  (ideal = the serial count / %u workers = %s; a run without failures took %s in section 4)\n\n",
                s.busy(s.workers), human(ideal).c_str(), human(s.figures.processes_seconds).c_str());

    show(lesson, map_kill, map_task, a_map);
    std::printf("\n");
    show(lesson, reduce_kill, reduce_task, a_reduce);
    std::printf("  The killed worker's lane ends at its death; its replacement starts a new lane. The counts are\n"
                "  exact both times: the dead attempt's files were never read (a reduce reads the files of each\n"
                "  map's counted attempt only, and a half-written file has only its .tmp name).\n\n");

    std::printf("  The straggler: %s sleeps %s before it starts.\n", late_task.c_str(), human(stall_s).c_str());
    std::printf("    without backup tasks %s, with backup tasks %s: %s faster\n", human(slow.seconds).c_str(),
                human(backed.seconds).c_str(), times_x(slow.seconds / backed.seconds).c_str());
    show(lesson, slow, late_task, a_slow);
    show(lesson, backed, late_task, a_backed);
    bool backup_won = false;
    for (const auto* r : a_backed.attempts) backup_won = backup_won || (r->rerun && r->accepted);
    if (backup_won)
        std::printf("  With backups an idle worker ran %s again as soon as the queue was empty; the first copy to\n"
                    "  finish was counted, the sleeping one was stopped when the phase ended (it is drawn up to then).\n"
                    "  The price: the work of a task done twice whenever the backup was not needed.\n",
                    late_task.c_str());
    else
        std::printf("  No backup copy of %s was counted: %s\n", late_task.c_str(),
                    s.workers == 1 ? "with one worker there is never an idle one to run it."
                                   : "the first copy finished before its backup.");
}

}  // namespace lesson07
