// Section 5: moving the bottleneck. Parsing is the slow stage, so make it faster:
//   - nlohmann's SAX interface: events instead of a tree, keeping only the four fields;
//   - simdjson's On-Demand API (where libsimdjson-dev is installed): walks the text,
//     materialising only the values asked for.
// Once parsing is faster than zlib, decompression is the limit: the serial loader
// cannot beat decompression alone, however fast the parser (Amdahl in action). So the
// section ends with decompression itself: zlib's inflate alone (the bound), the course's
// GzipLineReader (inflate + finding lines), gzip -dc in a process of its own (what zcat
// runs), and libdeflate where installed (faster, but only for a whole file in memory).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <zlib.h>
#ifdef COURSE_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "common/gzip_lines.hpp"
#include "parts.hpp"

extern char** environ;

namespace lesson08 {

namespace {

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// zlib's inflate alone: each file read 128 KiB at a time, every member inflated into
// one 256 KiB buffer (it stays in the cache), the text dropped. Returns the bytes out.
std::uint64_t zlib_inflate_only(const std::vector<fs::path>& files) {
    std::vector<char> in(std::size_t(128) << 10);
    std::vector<unsigned char> out(std::size_t(256) << 10);
    std::uint64_t total = 0;
    for (auto& file : files) {
        std::ifstream stream(file, std::ios::binary);
        z_stream z{};
        if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2 failed");
        bool more = true;
        while (more) {
            if (z.avail_in == 0) {
                stream.read(in.data(), std::streamsize(in.size()));
                z.next_in = reinterpret_cast<unsigned char*>(in.data());
                z.avail_in = static_cast<uInt>(stream.gcount());
                if (z.avail_in == 0) break;   // the end of the file (more stays true)
            }
            z.next_out = out.data();
            z.avail_out = static_cast<uInt>(out.size());
            int rc = inflate(&z, Z_NO_FLUSH);
            total += out.size() - z.avail_out;
            if (rc == Z_STREAM_END) inflateReset(&z);   // the next gzip member, if any
            else if (rc != Z_OK && rc != Z_BUF_ERROR) more = false;
        }
        inflateEnd(&z);
        if (!more) throw std::runtime_error(file.string() + ": corrupt gzip data (zlib inflate)");
        // (a clean end leaves the loop by the break above, with more still true)
    }
    return total;
}

// `gzip -dc FILES > /dev/null` in a process of its own (zcat is a script around it);
// seconds, or a negative number where gzip is not installed.
double gzip_process_seconds(const std::vector<fs::path>& files) {
    std::vector<std::string> args{"gzip", "-dc"};
    for (auto& f : files) args.push_back(f.string());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    course::Stopwatch watch;
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, "gzip", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? watch.seconds() : -1;
}

#ifdef COURSE_HAVE_LIBDEFLATE
// libdeflate: each file read whole, each gzip member inflated whole into one buffer
// (grown until the member fits), then its lines counted with memchr, as the reader would.
std::uint64_t libdeflate_whole_files(const std::vector<fs::path>& files, std::size_t& lines) {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    std::vector<char> out(std::size_t(16) << 20);
    std::uint64_t total = 0;
    for (auto& file : files) {
        std::string in = read_file(file);
        std::size_t at = 0;
        while (at < in.size()) {
            std::size_t in_used = 0, out_used = 0;
            auto rc = libdeflate_gzip_decompress_ex(d, in.data() + at, in.size() - at, out.data(), out.size(),
                                                    &in_used, &out_used);
            if (rc == LIBDEFLATE_INSUFFICIENT_SPACE) {
                out.resize(2 * out.size());
                continue;
            }
            if (rc != LIBDEFLATE_SUCCESS) {
                libdeflate_free_decompressor(d);
                throw std::runtime_error(file.string() + ": libdeflate could not inflate it");
            }
            for (const char* p = out.data(); (p = static_cast<const char*>(std::memchr(
                                                  p, '\n', std::size_t(out.data() + out_used - p))));
                 ++p)
                ++lines;
            total += out_used;
            at += in_used;
        }
    }
    libdeflate_free_decompressor(d);
    return total;
}
#endif

void decompression_table(course::Lesson& lesson, const std::vector<fs::path>& files, int repeats) {
    lesson.say("\nDecompression, the limit once parsing is nearly free (the same files; MB of text out per second):");
    course::ResultTable table("decompress");
    std::uint64_t out = 0;
    const double t_zlib = course::best_of(repeats, [&] { out = zlib_inflate_only(files); });
    const double mb = megabytes(out);
    auto add = [&](std::string variant, double seconds, std::size_t lines) {
        auto& row = table.add({.variant = std::move(variant), .n = lines, .seconds = seconds,
                               .bound_seconds = t_zlib, .bound = "zlib inflate"});
        row.extra["mb_per_second"] = mb / seconds;
        return mb / seconds;
    };
    std::size_t lines = 0;
    const double t_reader = course::best_of(repeats, [&] {
        lines = 0;
        for (auto& file : files) lines += course::for_each_line(file.string(), [](std::string_view) {});
    });
    add("zlib inflate alone", t_zlib, lines);
    const double reader = add("GzipLineReader (lines)", t_reader, lines);
    double t_gzip = 1e300;
    for (int r = 0; r < repeats; ++r) t_gzip = std::min(t_gzip, gzip_process_seconds(files));
    if (t_gzip > 0) add("gzip -dc (zcat)", t_gzip, lines);
#ifdef COURSE_HAVE_LIBDEFLATE
    std::size_t deflate_lines = 0;
    const double t_deflate = course::best_of(repeats, [&] {
        deflate_lines = 0;
        libdeflate_whole_files(files, deflate_lines);
    });
    const double deflate = add("libdeflate, whole file", t_deflate, deflate_lines);
#endif
    lesson.report(table);
    std::printf("  The reader finds lines at %.0f %% of zlib's inflate rate: inflate is the cost, not the lines.\n",
                100.0 * reader / (mb / t_zlib));
    if (t_gzip <= 0) std::printf("  (gzip is not installed: its row is skipped)\n");
#ifdef COURSE_HAVE_LIBDEFLATE
    std::printf("  libdeflate inflates %.2fx faster than zlib, but only a whole gzip member held in memory:\n"
                "  no streaming (the file and its whole output in memory at once), and a damaged member gives\n"
                "  none of its lines, where the reader delivers every good line before the damage. A loader\n"
                "  built on it would trade those for speed; the course's loaders keep zlib.\n",
                deflate / reader);
#else
    std::printf("  (libdeflate not found at build time: its row is skipped; install libdeflate-dev and rebuild.)\n");
#endif
    std::cout.flush();
}

}  // namespace

void move_bottleneck(course::Lesson& lesson, const Settings& s, const StageRates& rates) {
    lesson.section("5. Moving the bottleneck: a faster parser, and decompression becomes the limit");
    std::vector<fs::path> files(s.files.begin(), s.files.begin() + std::min(s.files.size(), s.stage_files));
    std::uint64_t bytes = 0;
    auto lines = read_lines(files, bytes);
    const double mb = megabytes(bytes);
    lesson.say("The same " + std::to_string(files.size()) + " files; each parser builds the same Papers as parse_paper");
    lesson.say("(checked paper by paper on the first 2000 lines). Then a one-thread loader with each parser:");
    lesson.say("decompress + parse, the channel left out; its bound is decompression alone.");

    struct Parser {
        std::string name;
        ParseFn parse;
    };
    std::vector<Parser> parsers;
    for (auto kind : available_parsers()) parsers.push_back({parser_title(kind), parse_function(kind)});
#ifndef COURSE_HAVE_SIMDJSON
    lesson.say("  (simdjson not found at build time: its row is skipped; install libsimdjson-dev and rebuild.)");
#endif

    const double decompress_seconds = mb / rates.decompress;
    course::ResultTable parse_table("stage"), loader_table("bottleneck");
    for (auto& p : parsers) {
        bool same = true;
        for (std::size_t i = 0; i < std::min<std::size_t>(lines.size(), 2000); ++i)
            same = same && p.parse(lines[i]) == course::loading::parse_paper(lines[i]);
        std::size_t papers = 0;
        double t_parse = course::best_of(int(s.repeats), [&] {
            papers = 0;
            for (auto& line : lines) papers += p.parse(line).has_value();
        });
        auto& row = parse_table.add({.variant = "paper: " + p.name, .n = lines.size(), .seconds = t_parse,
                                     .bound_seconds = decompress_seconds, .bound = "decompress", .ok = same});
        row.extra["mb_per_second"] = mb / t_parse;

        // The whole single-thread pipeline: zlib, then this parser, line by line.
        std::size_t loaded = 0;
        double t_load = course::best_of(int(s.repeats), [&] {
            loaded = 0;
            for (auto& file : files) {
                course::GzipLineReader reader(file.string());
                std::string_view line;
                while (reader.next(line)) loaded += p.parse(line).has_value();
            }
        });
        auto& load = loader_table.add({.variant = "1 thread, " + p.name, .n = loaded, .seconds = t_load,
                                       .bound_seconds = decompress_seconds, .bound = "decompress",
                                       .ok = same && loaded == papers});
        load.extra["mb_per_second"] = mb / t_load;
        load.extra["decompress_share"] = decompress_seconds / t_load;
    }
    lesson.say("\nParsing alone (lines in memory), MB/s beside decompression's " +
               std::to_string(int(rates.decompress)) + " MB/s:");
    lesson.report(parse_table);
    lesson.say("\nThe one-thread loader with each parser (efficiency = share of the time that is decompression):");
    lesson.report(loader_table);
    for (auto& row : parse_table.rows())
        std::printf("  %-22s %5.0f MB/s: %s\n", row.variant.c_str(), row.extra["mb_per_second"].get<double>(),
                    row.extra["mb_per_second"].get<double>() > rates.decompress
                        ? "faster than zlib: decompression is now the limit"
                        : "slower than zlib: parsing is still the limit");
    std::cout.flush();
    lesson.say("Amdahl: with parsing nearly free, a one-thread loader can at best reach the decompression rate;");
    lesson.say("beyond that only more cores (or a faster codec) help.");
    for (auto& row : parse_table.rows())
        if (!row.ok) throw std::runtime_error(row.variant + " built different Papers than parse_paper");
    decompression_table(lesson, files, int(s.repeats));
}

}  // namespace lesson08
