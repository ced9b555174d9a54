// Lesson 08: the seed's loader, end to end. Forty gzip files of JSON lines become
// Paper records, pushed by many producers into ONE bounded channel, read by one consumer.
//
//   serial       [producer: f0 f1 f2 f3 ... f39]----------------------+
//   async        [one thread: f0 f1 f2 ... f39 f0 f1 ... taking turns]--+
//   threaded     [thread 1: f0 f2 f4 ...]  [thread 2: f1 f3 f5 ...]-----+--> Channel<Paper> --> consumer:
//   distributed  [process 1: f0 f2 ...] ==socket==> reader thread ------+    capacity 1024    take(n), or
//                [process 2: f1 f3 ...] ==socket==>   (pushes)                                 drain to the end
//
// Each loader returns its channel at once and loads while the consumer pops; the
// channel closes once, after the last file. take(n) closes it early: every producer
// thread is joined and every worker process reaped before the next experiment.
#include <algorithm>
#include <iostream>
#include <sstream>
#include <thread>

#include <cctype>
#include <ctime>
#include <fstream>

#include <sys/resource.h>
#include <unistd.h>

#include "datasets/corpus.hpp"
#include "parts.hpp"

#ifndef COURSE_DATASETS_DIR
#error "COURSE_DATASETS_DIR must name the datasets folder (set by the top-level CMakeLists.txt)"
#endif

namespace lesson08 {

unsigned cores() { return std::max(1u, std::thread::hardware_concurrency()); }

double self_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

double thread_cpu_seconds() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}
double megabytes(std::uint64_t bytes) { return double(bytes) / 1e6; }

}  // namespace lesson08

int main(int argc, char** argv) {
    course::Lesson lesson("08-distributed-loading", "many producers, one channel: the original Julia loader end to end");
    std::string data;
    unsigned workers = 0;
    std::size_t capacity = 1024, files = 0, records = 0;
    std::string takes;
    unsigned repeats = 1;
    std::string parser;
    lesson.add_options()
        ("data", po::value(&data)->value_name("DIR"),
         "a folder of *.gz JSON-lines files (default: the generated corpus, made on first use)")
        ("files", po::value(&files)->value_name("N"), "files of the generated corpus (default 40; --quick 4)")
        ("records", po::value(&records)->value_name("N"),
         "records of the generated corpus (default 120000; --quick 4000)")
        ("workers", po::value(&workers)->value_name("N"),
         "threads / processes of the parallel loaders (default: the cores)")
        ("capacity", po::value(&capacity)->value_name("N"), "capacity of every loader's channel (default 1024)")
        ("take", po::value(&takes)->value_name("N,N,N"),
         "the n of take(n) (default 1000,10000,100000; --quick 100,1000,3000)")
        ("repeats", po::value(&repeats)->value_name("N"),
         "best of N runs for every take and drain (default 1: on a busy machine try 3)")
        ("parser", po::value(&parser)->value_name("dom|sax|simdjson"),
         "the JSON parser of every loader in the take and drain tables: dom = the exercise's parse_paper "
         "(nlohmann DOM) and loaders; sax = nlohmann's SAX interface; simdjson = simdjson On-Demand (where "
         "libsimdjson-dev was found at build time). Default: dom, then the fastest built in");

    return lesson.run(argc, argv, [&] {
        lesson08::Settings s;
        s.workers = workers ? workers : lesson08::cores();
        s.capacity = capacity;
        s.repeats = std::max(1u, repeats);
        s.stage_files = lesson.quick() ? 4 : 8;
        if (!parser.empty()) s.parsers = {lesson08::parser_from_name(parser)};
        else s.parsers = {lesson08::ParserKind::dom, lesson08::fastest_parser()};
        if (data.empty()) {
            course::datasets::CorpusOptions corpus;
            corpus.files = files ? files : lesson.quick() ? 4 : 40;
            corpus.records = records ? records : lesson.quick() ? 4000 : 120000;
            s.dir = course::datasets::default_corpus_dir(corpus);
            std::cout << "corpus: " << s.dir.string() << (std::filesystem::exists(s.dir / "MANIFEST.json") ? "" : " (generating it once)")
                      << "\n";
            auto manifest = course::datasets::ensure_corpus(s.dir, corpus);
            s.valid = manifest.valid();
            s.bytes = manifest.uncompressed_bytes();
        } else {
            s.dir = data;
            if (std::filesystem::exists(s.dir / "MANIFEST.json")) {
                auto manifest = course::datasets::read_manifest(s.dir);
                s.valid = manifest.valid();
                s.bytes = manifest.uncompressed_bytes();
            }
        }
        s.files = course::datasets::corpus_files(s.dir);
        if (s.files.empty()) throw std::runtime_error(s.dir.string() + ": no *.gz files");

        if (takes.empty()) takes = lesson.quick() ? "100,1000,3000" : "1000,10000,100000";
        std::istringstream list(takes);
        for (std::string item; std::getline(list, item, ',');) s.takes.push_back(std::stoul(item));

        std::cout << s.files.size() << " files";
        if (s.valid) std::cout << ", " << s.valid << " valid papers (manifest)";
        if (s.bytes) std::cout << ", " << lesson08::megabytes(s.bytes) << " MB uncompressed";
        std::cout << "; " << s.workers << " workers, channel capacity " << s.capacity << "\n";

        auto rates = lesson08::stage_limits(lesson, s);
        lesson08::breakdown(lesson, s, rates);
        lesson08::race(lesson, s, rates);
        lesson08::move_bottleneck(lesson, s, rates);
    });
}
