// Sections 2-4: the four loaders raced. take(n) with a fresh loader each time (the
// seed's experiment), then every loader drained to the end, then the count of threads
// and processes left behind after each early stop (must be zero).
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "parts.hpp"

namespace lesson08 {

using course::loading::LoadHandle;

namespace {

struct Variant {
    std::string loader;   // serial, async, threaded, distributed
    ParserKind parser;
    std::string name;     // "serial dom", "threaded simdjson", ...
    unsigned workers;     // 0: one thread
    std::function<LoadHandle(course::Recorder*)> start;
};

// Every loader with every parser of s.parsers. With dom the exercise's own loaders run
// (the async one is this lesson's); with a fast parser, loaders.cpp's twins of them.
std::vector<Variant> variants(const Settings& s) {
    auto files = s.files;
    auto cap = s.capacity;
    unsigned w = s.workers;
    std::vector<Variant> out;
    for (ParserKind kind : s.parsers) {
        ParseFn parse = parse_function(kind);
        auto add = [&](std::string loader, unsigned workers, std::function<LoadHandle(course::Recorder*)> start) {
            out.push_back({loader, kind, loader + " " + parser_name(kind), workers, std::move(start)});
        };
        using namespace course::loading;
        if (kind == ParserKind::dom) {
            add("serial", 0, [=](course::Recorder* r) { return serial_channel_load(files, cap, r); });
            add("async", 0, [=](course::Recorder* r) { return async_channel_load(files, cap, r, parse); });
            add("threaded", w, [=](course::Recorder* r) {
                return threaded_channel_load(files, {.workers = w, .capacity = cap, .recorder = r});
            });
            add("distributed", w, [=](course::Recorder* r) {
                return distributed_channel_load(files, {.workers = w, .capacity = cap, .recorder = r});
            });
        } else {
            add("serial", 0, [=](course::Recorder* r) { return serial_load(files, cap, r, parse); });
            add("async", 0, [=](course::Recorder* r) { return async_channel_load(files, cap, r, parse); });
            add("threaded", w, [=](course::Recorder* r) { return threaded_load(files, w, cap, r, parse); });
            add("distributed", w, [=](course::Recorder* r) { return distributed_load(files, w, cap, r, parse); });
        }
    }
    return out;
}

// Pops up to n papers and drops them at once: holding 100,000 papers (~8 KB each
// with their tokens) would cost ~0.8 GB and measure the allocator, not the loader.
// A progress bar (on a terminal) when `expected` papers are 100,000 or more.
std::size_t consume(LoadHandle& handle, std::size_t n, const std::string& label, std::size_t expected) {
    std::optional<course::ProgressBar> bar;
    if (expected >= 100'000) bar.emplace(label, expected);
    std::size_t got = 0;
    while (got < n) {
        auto paper = handle.channel().pop();
        if (!paper) break;
        if (++got % 1000 == 0 && bar) bar->advance(1000);
    }
    return got;
}

// After close(): wait (briefly, without sleeping) for joined threads to leave
// /proc/self/task, then report what is left beyond the baseline.
std::size_t extra_threads(std::size_t baseline) {
    course::Stopwatch patience;
    while (live_threads() > baseline && patience.seconds() < 2) std::this_thread::yield();
    return live_threads() - std::min(live_threads(), baseline);
}

std::string seconds_text(double s) { return course::format_seconds(s); }

}  // namespace

void race(course::Lesson& lesson, const Settings& s, const StageRates& rates) {
    const unsigned usable = std::min(s.workers, cores());
    const auto loaders = variants(s);
    const ParserKind first = s.parsers.front();
    auto named = [](const std::string& loader, ParserKind kind) { return loader + " " + parser_name(kind); };
    // A sanitizer runtime starts a helper thread of its own at the first thread
    // creation: start and join one thread first, so the baseline includes it.
    std::thread([] {}).join();
    const std::size_t baseline = live_threads();

    lesson.section("2. take(n): the first n papers, a fresh loader each time");
    lesson.say("Each run starts a loader, pops n papers, then closes the handle: the channel closes, every");
    lesson.say("producer gets channel_closed, threads are joined and worker processes killed and reaped.");
    lesson.say("Every loader runs with each parser of --parser (here: " + [&] {
        std::string list;
        for (auto k : s.parsers) list += (list.empty() ? "" : ", ") + parser_name(k);
        return list;
    }() + "); dom rows are the exercise's loaders.");
    lesson.say("Bounds: serial = n papers' bytes at the single-core bound of section 1 for its parser");
    lesson.say("(decompress + that parser's JSON parse); async = serial with the same parser (one thread");
    lesson.say("cannot beat it); threaded and distributed = that serial / min(workers, cores).");
    course::ResultTable takes("take");
    std::map<std::pair<std::string, std::size_t>, double> measured;
    std::vector<std::string> leftovers;
    for (std::size_t n : s.takes) {
        std::string line = "  take(" + std::to_string(n) + ") then close, extra threads / child processes left:";
        bool all_clean = true;
        for (auto& v : loaders) {
            // Best of s.repeats runs, each with a fresh loader: the least disturbed by
            // whatever else the machine runs. Every run must leave nothing behind.
            double seconds = 1e300, cpu = 0;
            std::size_t got = 0, threads = 0, children = 0;
            for (unsigned r = 0; r < s.repeats; ++r) {
                const double cpu_before = cpu_seconds();
                course::Stopwatch watch;
                auto handle = v.start(nullptr);
                got = consume(handle, n, v.name + " take " + std::to_string(n), n);
                double t = watch.seconds();
                handle.close();
                if (t < seconds) seconds = t, cpu = cpu_seconds() - cpu_before;
                threads = std::max(threads, extra_threads(baseline));
                children = std::max(children, child_processes());
            }
            line += " " + v.name + " " + std::to_string(threads) + "/" + std::to_string(children);
            all_clean = all_clean && threads == 0 && children == 0;
            measured[{v.name, n}] = seconds;

            const std::string serial_name = named("serial", v.parser);
            double serial = measured.count({serial_name, n}) ? measured[{serial_name, n}] : seconds;
            course::Measurement m{.variant = v.name, .n = got, .seconds = seconds, .workers = v.workers};
            if (v.loader == "serial") {
                m.bound_seconds = double(got) * rates.bytes_per_paper / 1e6 / rates.stage_bound(v.parser);
                m.bound = "1-core stages";
            } else if (v.loader == "async") {
                m.bound_seconds = serial, m.bound = serial_name;
            } else {
                m.bound_seconds = serial / usable, m.bound = "serial/cores";
            }
            bool expected_count = got == n || (s.valid && got == s.valid && n > s.valid);
            m.ok = expected_count && threads == 0 && children == 0;
            m.extra["parser"] = parser_name(v.parser);
            m.extra["cpu_seconds"] = cpu;
            m.extra["threads_left"] = threads;
            m.extra["children_left"] = children;
            takes.add(std::move(m));
            if (threads || children)
                throw std::runtime_error(v.name + " left " + std::to_string(threads) + " thread(s) and " +
                                         std::to_string(children) + " child process(es) behind after take(" +
                                         std::to_string(n) + ")");
        }
        leftovers.push_back(all_clean ? "  take(" + std::to_string(n) + ") then close: 0 extra threads and 0 child processes left, all " +
                                            std::to_string(loaders.size()) + " loaders"
                                      : line);
    }
    lesson.report(takes);
    for (auto& line : leftovers) lesson.say(line);

    auto at = [&](const std::string& loader, ParserKind kind, std::size_t n) { return measured[{named(loader, kind), n}]; };
    lesson.say("\nThe original Julia notes' table (2018, the real S2 corpus, 8 worker processes) beside ours (seconds,");
    lesson.say("parser " + parser_name(first) + "):");
    std::printf("  %9s | %8s %8s %11s | %8s %8s %11s %11s\n", "n", "serial", "async", "distrib. 8", "serial",
                "async", ("threaded " + std::to_string(s.workers)).c_str(),
                ("distrib. " + std::to_string(s.workers)).c_str());
    const double seed[3][3] = {{8.30, 8.95, 9.66}, {82.5, 83.6, 16.9}, {836.7, 841.3, 146.2}};
    for (std::size_t i = 0; i < s.takes.size(); ++i) {
        std::size_t n = s.takes[i];
        std::string a = "-", b = "-", c = "-";
        if (n == 1000 || n == 10000 || n == 100000) {
            int k = n == 1000 ? 0 : n == 10000 ? 1 : 2;
            a = seconds_text(seed[k][0]), b = seconds_text(seed[k][1]), c = seconds_text(seed[k][2]);
        }
        std::printf("  %9zu | %8s %8s %11s | %8s %8s %11s %11s\n", n, a.c_str(), b.c_str(), c.c_str(),
                    seconds_text(at("serial", first, n)).c_str(), seconds_text(at("async", first, n)).c_str(),
                    seconds_text(at("threaded", first, n)).c_str(), seconds_text(at("distributed", first, n)).c_str());
    }
    std::size_t last = s.takes.back();
    double serial_last = at("serial", first, last);
    std::printf("  take(%zu) speed-up over serial: async %.2fx, threaded %.2fx, distributed %.2fx "
                "(original notes: async %.2fx, distributed on 8 processes %.2fx)\n",
                last, serial_last / at("async", first, last), serial_last / at("threaded", first, last),
                serial_last / at("distributed", first, last), 836.7 / 841.3, 836.7 / 146.2);
    if (s.parsers.size() > 1) {
        const ParserKind fast = s.parsers.back();
        const double fast_serial = at("serial", fast, last);
        std::printf("  take(%zu), the headline: serial %s %s s; serial %s %s s (%.2fx); threaded %s %s s (%.2fx "
                    "serial %s); distributed %s %s s (%.2fx)\n",
                    last, parser_name(first).c_str(), seconds_text(serial_last).c_str(), parser_name(fast).c_str(),
                    seconds_text(fast_serial).c_str(), serial_last / fast_serial, parser_name(fast).c_str(),
                    seconds_text(at("threaded", fast, last)).c_str(), fast_serial / at("threaded", fast, last),
                    parser_name(fast).c_str(), parser_name(fast).c_str(),
                    seconds_text(at("distributed", fast, last)).c_str(), fast_serial / at("distributed", fast, last));
    }
    std::cout.flush();

    lesson.section("3. Drain: every loader to the end of the corpus");
    lesson.say("The consumer pops until the channel ends: that happens only after the last producer is done.");
    lesson.say("Every loader must deliver exactly the manifest's valid papers" +
               std::string(s.valid ? " (" + std::to_string(s.valid) + ")." : " (no manifest here: compared to serial)."));
    course::ResultTable drains("drain");
    std::deque<std::pair<std::string, course::Recorder>> pictures;   // Recorder does not move
    std::map<ParserKind, std::pair<std::size_t, double>> serial_run;   // papers, seconds
    for (auto& v : loaders) {
        const bool drawn = v.parser == first;   // section 4 draws the first parser's loaders
        if (drawn) pictures.emplace_back(std::piecewise_construct, std::forward_as_tuple(v.loader), std::tuple<>());
        double seconds = 1e300, cpu = 0, parent = 0;
        std::size_t got = 0;
        std::vector<course::loading::LoadError> errors;
        for (unsigned r = 0; r < s.repeats; ++r) {   // best of s.repeats; its timeline is kept
            course::Recorder rec;
            const double cpu_before = cpu_seconds(), self_before = self_cpu_seconds();
            const double consumer_before = thread_cpu_seconds();
            course::Stopwatch watch;
            auto handle = v.start(drawn ? &rec : nullptr);
            got = consume(handle, std::size_t(-1), v.name + " drain", s.valid);
            double t = watch.seconds();
            const double consumer = thread_cpu_seconds() - consumer_before;
            auto run_errors = handle.errors();
            handle.close();   // reaps the workers: their CPU time counts from here
            errors.insert(errors.end(), run_errors.begin(), run_errors.end());
            if (t < seconds) {
                seconds = t, cpu = cpu_seconds() - cpu_before;
                parent = self_cpu_seconds() - self_before - consumer;   // this process but the consumer
                if (drawn) {
                    pictures.back().second.clear();
                    for (auto& e : rec.events())
                        pictures.back().second.record_on(e.lane, e.name, e.start, e.end, e.pid);
                }
            }
        }
        if (v.loader == "serial") serial_run[v.parser] = {got, seconds};
        const auto [serial_count, serial_seconds] = serial_run[v.parser];
        course::Measurement m{.variant = v.name, .n = got, .seconds = seconds, .workers = v.workers};
        if (v.loader == "serial") {
            m.bound_seconds = megabytes(s.bytes) / rates.stage_bound(v.parser), m.bound = "1-core stages";
        } else if (v.loader == "async") {
            m.bound_seconds = serial_seconds, m.bound = named("serial", v.parser);
        } else {
            m.bound_seconds = serial_seconds / usable, m.bound = "serial/cores";
        }
        m.ok = errors.empty() && (s.valid ? got == s.valid : got == serial_count);
        m.extra["parser"] = parser_name(v.parser);
        m.extra["errors"] = errors.size();
        m.extra["cpu_seconds"] = cpu;
        if (v.loader == "distributed") m.extra["parent_ns_per_paper"] = got ? parent / double(got) * 1e9 : 0.0;
        for (auto& e : errors) lesson.say("  " + v.name + ": " + e.message);
        drains.add(std::move(m));
    }
    lesson.report(drains);
    auto row_of = [&](const std::string& name) -> const course::Measurement& {
        for (auto& row : drains.rows())
            if (row.variant == name) return row;
        throw std::logic_error("no drain row " + name);
    };
    for (ParserKind kind : s.parsers) {
        const auto& serial = row_of(named("serial", kind));
        const double rate = megabytes(s.bytes) / serial.seconds;
        std::printf("  serial %-8s %6.0f papers/s, %4.0f MB/s = %3.0f %% of its single-core bound (%.0f MB/s)",
                    parser_name(kind).c_str(), serial.items_per_second(), rate, 100.0 * serial.efficiency(),
                    rates.stage_bound(kind));
        if (kind != ParserKind::dom)
            std::printf(", %.0f %% of decompression alone (%.0f MB/s)", 100.0 * rate / rates.decompress,
                        rates.decompress);
        std::printf("\n");
        for (const char* loader : {"async", "threaded", "distributed"}) {
            const auto& row = row_of(named(loader, kind));
            std::printf("    %-20s %6.0f papers/s, %.2fx serial %s", row.variant.c_str(), row.items_per_second(),
                        serial.seconds / row.seconds, parser_name(kind).c_str());
            if (row.extra.contains("parent_ns_per_paper")) {
                const double ns = row.extra["parent_ns_per_paper"].get<double>();
                std::printf("; the parent's receiving thread: %.0f ns per paper received, busy %.0f %% of the drain",
                            ns, 100.0 * ns * 1e-9 * double(row.n) / row.seconds);
            }
            std::printf("\n");
        }
    }
    if (s.parsers.size() > 1)
        std::printf("  serial %s is %.2fx serial %s\n", parser_name(s.parsers.back()).c_str(),
                    row_of(named("serial", first)).seconds / row_of(named("serial", s.parsers.back())).seconds,
                    parser_name(first).c_str());
    std::printf("  CPU seconds (this process + its reaped workers) and cores kept busy (CPU / wall):\n");
    for (auto& row : drains.rows()) {
        double cpu = row.extra["cpu_seconds"].get<double>();
        std::printf("    %-20s %.2f s = %.2f cores\n", row.variant.c_str(), cpu, cpu / row.seconds);
    }
    std::printf("  (the parallel loaders' extra CPU over serial is their overhead: unpacking papers sent by\n"
                "  the workers, and the hand-over between threads)\n");
    std::cout.flush();
    for (auto& row : drains.rows())
        if (!row.ok) throw std::runtime_error(row.variant + " delivered " + std::to_string(row.n) + " papers, expected " +
                                              std::to_string(s.valid ? s.valid : serial_run[first].first));

    lesson.section("4. Who loaded which file when (the drains above, parser " + parser_name(first) + ")");
    lesson.say("One row per thread, coroutine or process; each file drawn with its own character.");
    for (auto& [name, rec] : pictures) {
        lesson.say("\n" + name + (name == "async" ? " (the first 6 of the tasks, all on one thread)" : "") + ":");
        lesson.timeline(rec, "drain " + name);
    }
}

}  // namespace lesson08
