// Section 2, last part: the same year histogram from Python with mpi4py, on as many
// ranks, under the same launcher (build/course-mpirun), if this machine has mpi4py.
//
//   rank 0 --posix_spawn--> course-mpirun -n N python3 python_histogram.py DIR   (a job of its own)
//   ranks 1.. sleep in the polite barrier meanwhile, leaving the cores to the Python ranks
//
// The new job must not believe it is part of ours: Open MPI hands its ranks their place in
// the job through OMPI_*, PMIX_*, OPAL_* and ORTE_* variables, so the child gets an
// environment without them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "parts.hpp"

extern char** environ;

namespace lesson09 {

namespace {

// Runs args (args[0] searched in PATH) with our environment minus Open MPI's job
// variables, plus `extra`; stdout captured, stderr discarded (quiet) or shared. After
// `limit` the program gets SIGTERM (mpiexec passes it on to its ranks). Returns the exit
// status (-1: could not start, stopped, or not a normal exit) and the output.
std::pair<int, std::string> run_program(const std::vector<std::string>& args, const std::vector<std::string>& extra,
                                        bool quiet, std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        std::string var = *e;
        bool job_variable = false;
        for (const char* prefix : {"OMPI_", "PMIX_", "OPAL_", "ORTE_"}) job_variable |= var.rfind(prefix, 0) == 0;
        if (!job_variable) env.push_back(var);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& v : env) envp.push_back(v.data());
    envp.push_back(nullptr);

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return {-1, ""};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    if (quiet) posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
        ::close(out[0]);
        return {-1, ""};
    }
    std::string text;
    bool stopped = false;
    course::Stopwatch watch;
    for (;;) {   // read until the program closes its end; stop it if it overstays
        pollfd ready{out[0], POLLIN, 0};
        if (::poll(&ready, 1, 100) > 0) {
            char buf[4096];
            ssize_t n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) break;
            text.append(buf, std::size_t(n));
        }
        if (!stopped && watch.seconds() > double(limit.count())) {
            ::kill(pid, SIGTERM);
            stopped = true;
        }
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return {!stopped && WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

// The first python3 that imports mpi4py ("python3" in PATH may be another Python than
// the system's, which is where the distribution's python3-mpi4py lives), or "".
std::string python_with_mpi4py() {
    for (const char* candidate : {"python3", "/usr/bin/python3"})
        if (run_program({candidate, "-c", "import mpi4py"}, {}, true).first == 0) return candidate;
    return "";
}

void run_python(course::Lesson& lesson, const Job& job, Timeline& t, Figures& f) {
    const std::string python = python_with_mpi4py();
    if (python.empty()) {
        lesson.say("  mpi4py: skipped, no python3 here imports mpi4py (Debian/Ubuntu: apt install python3-mpi4py).");
        return;
    }
    // course-mpirun sits beside the lesson program in the build folder.
    const fs::path launcher = fs::read_symlink("/proc/self/exe").parent_path() / "course-mpirun";
    const fs::path script = fs::path(COURSE_SOURCE_DIR) / "lessons" / "09-beyond-one-machine" / "python_histogram.py";
    if (!fs::exists(launcher) || !fs::exists(script)) {
        lesson.say("  mpi4py: skipped, " + (fs::exists(launcher) ? script : launcher).string() + " is missing.");
        return;
    }
    const std::vector<std::string> args = {launcher.string(), "-n", std::to_string(job.size), python, script.string(),
                                           job.dir.string()};
    std::string shown = "  $";
    for (auto& a : args) shown += " " + a;
    lesson.say(shown);
    std::cout.flush();

    // Python parses 2-3x slower than we do: a job still running after far longer is stuck.
    const auto limit = std::chrono::seconds(30 + int(20 * f.histogram_seconds));
    course::Stopwatch watch;
    auto [status, out] = [&] {
        auto span = t.phase('y', "waiting for the mpi4py job");
        return run_program(args, {"COURSE_MPIRUN_QUIET=1"}, false, limit);
    }();
    const double job_seconds = watch.seconds();
    nlohmann::json answer;
    try {
        answer = nlohmann::json::parse(out.substr(0, out.find('\n')));
    } catch (const std::exception&) {
        const std::string how =
            status < 0 ? "stopped after " + course::format_duration(job_seconds) : "exit " + std::to_string(status);
        lesson.say("  mpi4py: the Python job failed (" + how + "); it printed: " + out);
        return;   // an optional part: it does not fail the lesson
    }
    Histogram theirs;
    for (auto& [year, count] : answer["histogram"].items()) theirs[std::stoi(year)] = count.get<std::uint64_t>();
    const auto& errors = answer["errors"];
    // With broken files the two may differ: Python's gzip and json stop at other spots than
    // topic 08's reader. With none they must agree.
    const bool same = theirs == f.histogram, comparable = errors.empty();
    const double seconds = answer["seconds"].get<double>(), cpu = answer["cpu_seconds"].get<double>();
    course::ResultTable table("python-histogram");
    course::Measurement m{.variant = "mpi4py, " + std::to_string(job.size) + " rank" + (job.size > 1 ? "s" : ""),
                          .n = answer["papers"].get<std::size_t>(), .seconds = seconds,
                          .bound_seconds = cpu / busy(job, unsigned(job.size)), .bound = "CPU/cores",
                          .workers = unsigned(job.size), .ok = same || !comparable};
    m.extra["job_seconds"] = job_seconds;
    m.extra["cpp_seconds"] = f.histogram_seconds;
    m.extra["errors"] = errors.size();
    if (!m.ok) f.wrong.push_back("the mpi4py histogram differs from ours");
    table.add(std::move(m));
    lesson.report(table);
    const double ratio = seconds / f.histogram_seconds;
    std::printf("  Python %s (the whole job, interpreter start included: %s), ours %s on the same ranks:\n"
                "  %s %.1fx faster; %s histogram. Both parse every paper the same way (JSON, authors,\n"
                "  abstract tokens); the ranks and the allreduce are the same MPI: the parsing is the difference.\n",
                course::format_duration(seconds).c_str(), course::format_duration(job_seconds).c_str(),
                course::format_duration(f.histogram_seconds).c_str(), ratio >= 1 ? "C++ is" : "Python is",
                ratio >= 1 ? ratio : 1 / ratio, same ? "the same" : "NOT the same");
    for (const auto& e : errors) std::printf("  Python: %s\n", e.get<std::string>().c_str());
    if (!same && !comparable) std::printf("  (the broken files: Python's readers stop at other spots than ours)\n");
    std::fflush(stdout);
}

}  // namespace

void python_section(course::Lesson& lesson, Job& job, Timeline& t, Figures& f) {
    if (job.root()) {
        lesson.say("\nThe same histogram from Python (mpi4py), one Python process per rank, the same launcher:");
        run_python(lesson, job, t, f);
        polite_barrier(job.world);
    } else {
        auto idle = Clock::now();
        polite_barrier(job.world);
        t.add('.', "waiting: rank 0 runs the mpi4py job", idle, Clock::now());
    }
}

}  // namespace lesson09
