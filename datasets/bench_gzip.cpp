// course-bench-gzip [DIR]: how fast GzipLineReader turns the corpus into lines, against
// `zcat FILES > /dev/null` on the same files (zcat only decompresses: it is the bound).
// DIR defaults to the default corpus, generated first if missing. Median of 3 runs,
// wall-clock and CPU time (CPU time is the fairer figure on a machine shared with
// other work).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "common/gzip_lines.hpp"
#include "common/stopwatch.hpp"
#include "datasets/corpus.hpp"

namespace {

double median_of_3(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[1];
}

// CPU seconds (user + system) of this process, or of its finished children.
double cpu_seconds(int who) {
    rusage usage{};
    ::getrusage(who, &usage);
    auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
    namespace ds = course::datasets;
    try {
        std::filesystem::path dir = argc > 1 ? std::filesystem::path(argv[1]) : ds::default_corpus_dir();
        if (argc <= 1) ds::ensure_corpus(dir);
        auto files = ds::corpus_files(dir);
        if (files.empty()) throw std::runtime_error(dir.string() + ": no .gz files");

        std::uint64_t bytes = 0, lines = 0;
        std::vector<double> reader_seconds, reader_cpu;
        for (int run = 0; run < 3; ++run) {
            bytes = lines = 0;
            double cpu = cpu_seconds(RUSAGE_SELF);
            course::Stopwatch watch;
            for (auto& file : files) {
                course::GzipLineReader reader(file.string());
                std::string_view line;
                std::uint64_t line_bytes = 0;
                while (reader.next(line)) line_bytes += line.size();  // touch every line
                lines += reader.line_number();
                bytes += reader.bytes_out();
                if (line_bytes > reader.bytes_out()) return 1;
            }
            reader_seconds.push_back(watch.seconds());
            reader_cpu.push_back(cpu_seconds(RUSAGE_SELF) - cpu);
        }

        std::string command = "zcat";
        for (auto& file : files) command += " '" + file.string() + "'";
        command += " > /dev/null";
        std::vector<double> zcat_seconds, zcat_cpu;
        for (int run = 0; run < 3; ++run) {
            double cpu = cpu_seconds(RUSAGE_CHILDREN);
            course::Stopwatch watch;
            if (std::system(command.c_str()) != 0) throw std::runtime_error("zcat failed");
            zcat_seconds.push_back(watch.seconds());
            zcat_cpu.push_back(cpu_seconds(RUSAGE_CHILDREN) - cpu);
        }

        double reader = median_of_3(reader_seconds), zcat = median_of_3(zcat_seconds);
        double mb = double(bytes) / 1e6;
        std::printf("%zu files, %llu lines, %.1f MB uncompressed (%s)\n", files.size(),
                    static_cast<unsigned long long>(lines), mb, dir.c_str());
        std::printf("GzipLineReader      %6.3f s  %6.1f MB/s  (median of 3: %.3f %.3f %.3f)\n", reader, mb / reader,
                    reader_seconds[0], reader_seconds[1], reader_seconds[2]);
        std::printf("zcat > /dev/null    %6.3f s  %6.1f MB/s  (median of 3: %.3f %.3f %.3f)\n", zcat, mb / zcat,
                    zcat_seconds[0], zcat_seconds[1], zcat_seconds[2]);
        double reader_c = median_of_3(reader_cpu), zcat_c = median_of_3(zcat_cpu);
        std::printf("CPU time: GzipLineReader %.3f s (%.1f MB per CPU-second), zcat %.3f s (%.1f MB per CPU-second)\n",
                    reader_c, mb / reader_c, zcat_c, mb / zcat_c);
        std::printf("reader speed / zcat speed: %.0f %% wall-clock, %.0f %% CPU\n", 100.0 * zcat / reader,
                    100.0 * zcat_c / reader_c);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "course-bench-gzip: %s\n", e.what());
        return 1;
    }
}
