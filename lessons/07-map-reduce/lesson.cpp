// Lesson 07: map-reduce. Map (independent, so parallel), shuffle (every value of a key to
// one place: partition by hash), reduce (associative, so it may also run early, as a
// combiner); and what a framework adds on top: a task whose worker died runs again.
//
//   files          map tasks (M)            shuffle: partition_of(word, R)          reduce tasks (R)
//   s2-corpus-00 ──▶ [map 0] ── pairs ──┬── partition 0 of every map ──▶ [reduce 0] ──▶ its words, counted
//   s2-corpus-01 ──▶ [map 1] ── pairs ──┼── partition 1 of every map ──▶ [reduce 1] ──▶ its words, counted
//        ...            ...             ├──  ...                              ...
//   s2-corpus-39 ──▶ [map 39] ─ pairs ──┴── partition R-1 ────────────▶ [reduce R-1]
//                       │
//                       └─ with a combiner each map task adds up its own words first:
//                          ("the", 6326) crosses once instead of ("the", 1) 6,326 times
//
//   on worker processes, a coordinator (this process) hands out tasks over pipes:
//     coordinator ──"map 3 0"──▶ worker 4242 ── writes map-3-a0-r*.tmp, renames each when complete
//     worker 4242 dies (SIGKILL) ──▶ its pipe closes, waitpid says how ──▶ "map 3 1" to another worker
//     the first completion of a task is the one counted: a late duplicate is ignored
//
// Sections: 1. the original material's device ids (SHA-1 of UUIDs), serially, on threads, on processes,
// beside the SHA-1 bound and the original material's Python. 2. a word count made visible: the shuffle's
// bytes with and without a combiner, the top 20 words, equal to a serial count. 3. threads
// vs processes, stage by stage (map, shuffle write, shuffle read, reduce). 4. scaling and
// Amdahl's law. 5. failures: a worker killed in a map task and in a reduce task; a
// straggler with and without backup tasks. 6. the original material's Spark observations in our terms.
#include <sys/wait.h>

#include <iostream>
#include <sstream>
#include <thread>

#include "common/process_stats.hpp"
#include "datasets/corpus.hpp"
#include "parts.hpp"

namespace {

// "12,1200,120000" -> {12, 1200, 120000}; throws naming the bad item.
std::vector<std::uint64_t> parse_ids(const std::string& text) {
    std::vector<std::uint64_t> ids;
    std::istringstream list(text);
    for (std::string item; std::getline(list, item, ',');) {
        std::size_t used = 0;
        unsigned long long n = 0;
        try {
            n = std::stoull(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || item.empty() || n == 0)
            throw std::invalid_argument("--ids: \"" + item + "\" is not a positive number");
        ids.push_back(n);
    }
    if (ids.empty()) throw std::invalid_argument("--ids: no numbers given");
    return ids;
}

// The corpus: --data DIR, or the generated one (made on first use, then cached).
void find_corpus(lesson07::Settings& s, bool quick) {
    if (!s.data.empty()) {
        s.corpus_dir = s.data;
        if (!std::filesystem::is_directory(s.corpus_dir))
            throw std::runtime_error("--data " + s.data + ": not a folder");
    } else {
        course::datasets::CorpusOptions corpus;   // the default: 120,000 records in 40 files
        if (quick) corpus = {.records = 4000, .files = 4, .seed = 1};   // lesson 08's --quick corpus
        s.corpus_dir = course::datasets::default_corpus_dir(corpus);
        bool fresh = !std::filesystem::exists(s.corpus_dir / "MANIFEST.json");
        std::cout << "corpus: " << s.corpus_dir.string() << (fresh ? " (generating it once)" : "") << "\n";
        course::datasets::ensure_corpus(s.corpus_dir, corpus);
    }
    s.files = course::datasets::corpus_files(s.corpus_dir);
    if (s.files.empty()) throw std::runtime_error(s.corpus_dir.string() + ": no *.gz files");
}

}  // namespace

int main(int argc, char** argv) {
    course::Lesson lesson("07-map-reduce", "map, shuffle, reduce: on threads, on processes, with failures");
    lesson07::Settings s;
    std::string ids;
    lesson.add_options()
        ("ids", po::value(&ids)->value_name("N,N,..."),
         "device ids of section 1 (default 12,1200,120000,1200000,12000000; --quick 12,1200,120000)")
        ("workers", po::value(&s.workers)->value_name("N"), "threads / worker processes (default 2)")
        ("partitions", po::value(&s.partitions)->value_name("R"), "reduce partitions of the word count (default 4)")
        ("data", po::value(&s.data)->value_name("DIR"),
         "a folder of *.gz JSON-lines files for the word count (default: the generated corpus, 40 files; "
         "--quick: 4 files)");
    return lesson.run(argc, argv, [&] {
        s.quick = lesson.quick();
        s.cores = std::max(1u, std::thread::hardware_concurrency());
        if (s.workers == 0) throw std::invalid_argument("--workers must be at least 1");
        if (s.partitions == 0) throw std::invalid_argument("--partitions must be at least 1");
        s.ids = parse_ids(!ids.empty() ? ids : s.quick ? "12,1200,120000" : "12,1200,120000,1200000,12000000");
        find_corpus(s, s.quick);
        std::cout << s.files.size() << " corpus files (M = " << s.files.size() << " map tasks), R = " << s.partitions
                  << " partitions, " << s.workers << " workers on " << s.cores << " cores; load average "
                  << lesson07::load_average() << " at the start\n";

        lesson07::device_ids_section(lesson, s);
        lesson07::shuffle_section(lesson, s);
        lesson07::stages_section(lesson, s);
        lesson07::scaling_section(lesson, s);
        lesson07::failures_section(lesson, s);
        lesson07::spark_section(lesson, s);

        // Every worker process of every section has been reaped: none is left running or
        // as a zombie.
        std::cout << "\nchild processes left: " << course::live_children() << "\n";
        if (!s.wrong.empty()) {
            std::string list;
            for (auto& w : s.wrong) list += "\n  " + w;
            throw std::runtime_error(std::to_string(s.wrong.size()) + " result(s) differ from the serial ones:" + list);
        }
    });
}
