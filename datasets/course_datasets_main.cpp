// course-datasets: writes the course's input data. `./course datasets ...` runs it.
//
//   course-datasets corpus [--records N] [--files N] [--seed N] [--out DIR] [--threads N]
//   course-datasets broken [--out DIR]
//   course-datasets zarr [--values N] [--chunk N] [--level N] [--out DIR]
//
// The first word picks the generator; each has its own function below.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "common/progress.hpp"
#include "common/stopwatch.hpp"
#include "datasets/broken.hpp"
#include "datasets/corpus.hpp"
#include "datasets/stocks.hpp"
#include "datasets/zarr.hpp"

namespace {

using namespace course::datasets;
namespace fs = std::filesystem;

constexpr char usage[] =
    "usage: course-datasets corpus [--records N] [--files N] [--seed N] [--out DIR] [--threads N]\n"
    "           the S2-like corpus: gzip JSON lines s2-corpus-NN.gz + MANIFEST.json\n"
    "           (default 120000 records in 40 files, seed 1, into datasets/cache/corpus-R-F-S;\n"
    "           --threads: workers writing whole files, default one per core; same bytes)\n"
    "       course-datasets broken [--out DIR]\n"
    "           the broken fixtures for the loaders' tests (default datasets/broken)\n"
    "       course-datasets zarr [--values N] [--chunk N] [--level N] [--out DIR]\n"
    "           a Zarr v2 store of float64 0..N-1 in zlib chunks (topic 06; default 6443 values,\n"
    "           5 per chunk = 1289 chunks, level 1, into datasets/cache/arange.zarr)\n"
    "       course-datasets stocks [--tickers N] [--days N] [--seed N] --out DIR\n"
    "           daily-stock JSON lines <ticker>.json + MANIFEST.json with a planted pair\n"
    "           (default 20 tickers x 1000 days, seed 1)\n"
    "See datasets/README.md for every file and field.\n";

// "--name value" or "--name=value" pairs; anything else is an error.
std::map<std::string, std::string> parse_options(const std::vector<std::string>& args,
                                                 const std::vector<std::string>& known) {
    std::map<std::string, std::string> options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i], value;
        if (name.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + name + "'");
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            throw std::invalid_argument("option " + name + " needs a value");
        }
        name = name.substr(2);
        if (std::find(known.begin(), known.end(), name) == known.end())
            throw std::invalid_argument("unknown option --" + name);
        options[name] = value;
    }
    return options;
}

std::uint64_t number(const std::map<std::string, std::string>& options, const std::string& name,
                     std::uint64_t fallback) {
    auto it = options.find(name);
    if (it == options.end()) return fallback;
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(it->second, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != it->second.size() || it->second.empty() || it->second[0] == '-')
        throw std::invalid_argument("--" + name + " wants a whole number, not '" + it->second + "'");
    return value;
}

int corpus_command(const std::vector<std::string>& args) {
    auto options = parse_options(args, {"records", "files", "seed", "out", "threads"});
    CorpusOptions corpus{.records = number(options, "records", 120000),
                         .files = number(options, "files", 40),
                         .seed = number(options, "seed", 1)};
    if (corpus.files == 0) throw std::invalid_argument("--files must be at least 1");
    fs::path out = options.count("out") ? fs::path(options["out"]) : default_corpus_dir(corpus);

    course::Stopwatch watch;
    std::clock_t cpu_start = std::clock();
    course::ProgressBar bar("generating " + out.filename().string(), corpus.records);
    auto threads = unsigned(number(options, "threads", 0));  // 0: one per core
    auto manifest = generate_corpus(out, corpus, [&](std::size_t n) { bar.advance(n); }, threads);
    bar.finish();
    double seconds = watch.seconds();
    double cpu = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::printf("wrote %zu files, %zu records (%zu valid papers, %zu to skip) into %s\n",
                manifest.files.size(), manifest.records(), manifest.valid(),
                manifest.records() - manifest.valid(), out.c_str());
    std::printf("%.1f MB of JSON lines, %.1f MB gzip, in %.2f s: %.0f records/s, %.1f MB/s of JSON\n",
                double(manifest.uncompressed_bytes()) / 1e6, double(manifest.compressed_bytes()) / 1e6,
                seconds, double(manifest.records()) / seconds,
                double(manifest.uncompressed_bytes()) / 1e6 / seconds);
    std::printf("%.2f s of CPU: %.0f records per CPU-second\n", cpu, double(manifest.records()) / cpu);
    return 0;
}

int broken_command(const std::vector<std::string>& args) {
    auto options = parse_options(args, {"out"});
    fs::path out = options.count("out") ? fs::path(options["out"]) : datasets_dir() / "broken";
    for (auto& fixture : write_broken_fixtures(out)) std::printf("%s\n", fixture.c_str());
    return 0;
}

int zarr_command(const std::vector<std::string>& args) {
    auto options = parse_options(args, {"values", "chunk", "level", "out"});
    ZarrOptions zarr{.values = number(options, "values", 6443),
                     .chunk = number(options, "chunk", 5),
                     .level = int(number(options, "level", 1))};
    fs::path out = options.count("out") ? fs::path(options["out"]) : default_zarr_dir(zarr);
    course::Stopwatch watch;
    auto keys = write_zarr_store(out, zarr);
    std::uintmax_t bytes = 0;
    for (const auto& key : keys) bytes += fs::file_size(out / key);
    std::printf("wrote %s: .zarray and %zu chunks (\"0\" .. \"%s\"), %zu float64 values, %ju bytes of chunks "
                "(%.1f per chunk), in %.2f s\n",
                out.c_str(), keys.size(), keys.back().c_str(), zarr.values, bytes, double(bytes) / double(keys.size()),
                watch.seconds());
    std::printf("serve it: ./course serve --files-dir %s  then GET /files/%s/{i}\n", out.parent_path().c_str(),
                out.filename().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(usage, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    std::string command = args[0];
    args.erase(args.begin());
    try {
        if (command == "corpus") return corpus_command(args);
        if (command == "broken") return broken_command(args);
        if (command == "zarr") return zarr_command(args);
        if (command == "stocks") return stocks_main(argc - 1, argv + 1);   // argv[1] is "stocks"
        std::fprintf(stderr, "course-datasets: unknown generator '%s'\n%s", command.c_str(), usage);
        return 2;
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "course-datasets %s: %s\n%s", command.c_str(), e.what(), usage);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "course-datasets %s: %s\n", command.c_str(), e.what());
        return 1;
    }
}
