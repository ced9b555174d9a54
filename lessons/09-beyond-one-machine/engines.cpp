// Section 5: where each engine fits, past one machine, for a C++ program. Nothing is
// measured here: the table places what the lesson measured (MPI) among the others, each
// with the trait that decides for or against it and what happens when a worker dies.
#include <cstdio>

#include "parts.hpp"

namespace lesson09 {

namespace {

struct Engine {
    const char* name;
    const char* from_cpp;   // how C++ code takes part
    const char* trait;      // what decides for or against it
    const char* dies;       // a worker dies mid-run
};

const Engine engines[] = {
    {"MPI", "C API, Boost.MPI", "fixed ranks, your messages; fast collectives", "the job ends; restart from a checkpoint"},
    {"HPX", "a C++ library", "std-style futures, algorithms across nodes", "a lost node ends the run"},
    {"gRPC fleet", "generated C++ stubs", "independent services; you schedule", "callers retry elsewhere (idempotent)"},
    {"Hadoop MR", "Streaming: stdin/stdout", "map, shuffle through disk, reduce", "the task re-runs elsewhere (topic 07)"},
    {"Spark", "JVM/Python; RDD.pipe", "lazy plans over in-memory partitions", "lost tasks re-run from lineage"},
    {"Dask", "Python; pybind11", "task graphs of NumPy/pandas-like work", "tasks re-run; not a lost scheduler"},
    {"Ray", "Python; a young C++ API", "tasks plus stateful actors", "tasks retried; actor state lost"},
};

}  // namespace

void engines_section(course::Lesson& lesson, const Job& job) {
    if (!job.root()) return;
    lesson.section("5. Where each engine fits, past one machine");
    lesson.say("One line each: how C++ code takes part, the trait that decides, and what a dead worker costs.");
    std::printf("  %-10s | %-23s | %-44s | %s\n", "engine", "C++ takes part", "deciding trait", "a worker dies");
    std::printf("  %s\n", std::string(120, '-').c_str());
    for (const auto& e : engines) std::printf("  %-10s | %-23s | %-44s | %s\n", e.name, e.from_cpp, e.trait, e.dies);
    std::fflush(stdout);
    lesson.say("");
    lesson.say("  The line between them is failure. MPI assumes every rank lives to the end: nothing is");
    lesson.say("  re-run, so nothing needs to be written down on the way, and an array's reduction costs");
    lesson.say("  microseconds (section 2). MapReduce and Spark keep each task's input and re-run a lost task elsewhere,");
    lesson.say("  which is why they go through disk or lineage and start tasks in milliseconds, not micro-");
    lesson.say("  seconds: the original material's Spark local[12] spent 5.8 s on take(10) of a lazy RDD, one");
    lesson.say("  whole task run to hand back ten ids, and 16.7 s on a count that ran every task again.");
    lesson.say("  Its cheat sheet puts Dask and Ray at many machines for IO and CPU, Hadoop MapReduce and");
    lesson.say("  Spark on the JVM: from C++ they are reached through a process boundary, Python or the JVM.");
    lesson.say("  Choose MPI when the job is one computation on machines you hold for its whole length; a");
    lesson.say("  re-running engine when machines come and go, or the run is long enough that one will fail.");
}

}  // namespace lesson09
