// Sections 2-4: the four loaders raced. take(n) with a fresh loader each time (the
// seed's experiment), then every loader drained to the end, then the count of threads
// and processes left behind after each early stop (must be zero).
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
    std::string name;
    unsigned workers;   // 0: one thread
    std::function<LoadHandle(course::Recorder*)> start;
};

std::vector<Variant> variants(const Settings& s) {
    auto files = s.files;
    auto cap = s.capacity;
    unsigned w = s.workers;
    return {
        {"serial", 0, [=](course::Recorder* r) { return course::loading::serial_channel_load(files, cap, r); }},
        {"async", 0, [=](course::Recorder* r) { return async_channel_load(files, cap, r); }},
        {"threaded", w,
         [=](course::Recorder* r) {
             return course::loading::threaded_channel_load(files, {.workers = w, .capacity = cap, .recorder = r});
         }},
        {"distributed", w,
         [=](course::Recorder* r) {
             return course::loading::distributed_channel_load(files, {.workers = w, .capacity = cap, .recorder = r});
         }},
    };
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
    // A sanitizer runtime starts a helper thread of its own at the first thread
    // creation: start and join one thread first, so the baseline includes it.
    std::thread([] {}).join();
    const std::size_t baseline = live_threads();

    lesson.section("2. take(n): the first n papers, a fresh loader each time");
    lesson.say("Each run starts a loader, pops n papers, then closes the handle: the channel closes, every");
    lesson.say("producer gets channel_closed, threads are joined and worker processes killed and reaped.");
    lesson.say("Bounds: serial = n papers' bytes at the single-core bound of section 1; async = the serial");
    lesson.say("time (one thread cannot beat it); threaded and distributed = serial / min(workers, cores).");
    course::ResultTable takes("take");
    std::map<std::pair<std::string, std::size_t>, double> measured;
    std::vector<std::string> leftovers;
    for (std::size_t n : s.takes) {
        std::string line = "  take(" + std::to_string(n) + ") then close, extra threads / child processes left:";
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
            measured[{v.name, n}] = seconds;

            double serial = measured.count({"serial", n}) ? measured[{"serial", n}] : seconds;
            course::Measurement m{.variant = v.name, .n = got, .seconds = seconds, .workers = v.workers};
            if (v.name == "serial") {
                m.bound_seconds = double(got) * rates.bytes_per_paper / 1e6 / rates.pipeline();
                m.bound = "1-core stages";
            } else if (v.name == "async") {
                m.bound_seconds = serial, m.bound = "serial";
            } else {
                m.bound_seconds = serial / usable, m.bound = "serial/cores";
            }
            bool expected_count = got == n || (s.valid && got == s.valid && n > s.valid);
            m.ok = expected_count && threads == 0 && children == 0;
            m.extra["cpu_seconds"] = cpu;
            m.extra["threads_left"] = threads;
            m.extra["children_left"] = children;
            takes.add(std::move(m));
            if (threads || children)
                throw std::runtime_error(v.name + " left " + std::to_string(threads) + " thread(s) and " +
                                         std::to_string(children) + " child process(es) behind after take(" +
                                         std::to_string(n) + ")");
        }
        leftovers.push_back(line);
    }
    lesson.report(takes);
    for (auto& line : leftovers) lesson.say(line);

    lesson.say("\nThe original Julia notes' table (2018, the real S2 corpus, 8 worker processes) beside ours (seconds):");
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
                    seconds_text(measured[{"serial", n}]).c_str(), seconds_text(measured[{"async", n}]).c_str(),
                    seconds_text(measured[{"threaded", n}]).c_str(), seconds_text(measured[{"distributed", n}]).c_str());
    }
    std::size_t last = s.takes.back();
    double serial_last = measured[{"serial", last}];
    std::printf("  take(%zu) speed-up over serial: async %.2fx, threaded %.2fx, distributed %.2fx "
                "(original notes: async %.2fx, distributed on 8 processes %.2fx)\n",
                last, serial_last / measured[{"async", last}], serial_last / measured[{"threaded", last}],
                serial_last / measured[{"distributed", last}], 836.7 / 841.3, 836.7 / 146.2);
    std::cout.flush();

    lesson.section("3. Drain: every loader to the end of the corpus");
    lesson.say("The consumer pops until the channel ends: that happens only after the last producer is done.");
    lesson.say("Every loader must deliver exactly the manifest's valid papers" +
               std::string(s.valid ? " (" + std::to_string(s.valid) + ")." : " (no manifest here: compared to serial)."));
    course::ResultTable drains("drain");
    std::vector<std::pair<std::string, course::Recorder>> pictures(loaders.size());
    std::size_t serial_count = 0;
    double serial_seconds = 0;
    for (std::size_t i = 0; i < loaders.size(); ++i) {
        auto& v = loaders[i];
        pictures[i].first = v.name;
        double seconds = 1e300, cpu = 0;
        std::size_t got = 0;
        std::vector<course::loading::LoadError> errors;
        for (unsigned r = 0; r < s.repeats; ++r) {   // best of s.repeats; its timeline is kept
            course::Recorder rec;
            const double cpu_before = cpu_seconds();
            course::Stopwatch watch;
            auto handle = v.start(&rec);
            got = consume(handle, std::size_t(-1), v.name + " drain", s.valid);
            double t = watch.seconds();
            auto run_errors = handle.errors();
            handle.close();   // reaps the workers: their CPU time counts from here
            errors.insert(errors.end(), run_errors.begin(), run_errors.end());
            if (t < seconds) {
                seconds = t, cpu = cpu_seconds() - cpu_before;
                pictures[i].second.clear();
                for (auto& e : rec.events()) pictures[i].second.record_on(e.lane, e.name, e.start, e.end, e.pid);
            }
        }
        if (v.name == "serial") serial_count = got, serial_seconds = seconds;
        course::Measurement m{.variant = v.name, .n = got, .seconds = seconds, .workers = v.workers};
        if (v.name == "serial") {
            m.bound_seconds = megabytes(s.bytes) / rates.pipeline(), m.bound = "1-core stages";
        } else if (v.name == "async") {
            m.bound_seconds = serial_seconds, m.bound = "serial";
        } else {
            m.bound_seconds = serial_seconds / usable, m.bound = "serial/cores";
        }
        m.ok = errors.empty() && (s.valid ? got == s.valid : got == serial_count);
        m.extra["errors"] = errors.size();
        m.extra["cpu_seconds"] = cpu;
        for (auto& e : errors) lesson.say("  " + v.name + ": " + e.message);
        drains.add(std::move(m));
    }
    lesson.report(drains);
    const auto& rows = drains.rows();
    const double serial_rate = megabytes(s.bytes) / rows[0].seconds;
    const double paper_pipeline = 1.0 / (1.0 / rates.decompress + 1.0 / rates.paper);
    std::printf("  serial: %.0f papers/s, %.0f MB/s = %.0f %% of the single-core bound (%.0f MB/s; target 80 %%),\n"
                "          %.0f %% of decompress + parse_paper on one core (%.0f MB/s: what the producer really does;\n"
                "          the rest is the channel and the hand-over to the consumer's thread)\n",
                rows[0].items_per_second(), serial_rate, 100.0 * rows[0].efficiency(), rates.pipeline(),
                100.0 * serial_rate / paper_pipeline, paper_pipeline);
    for (std::size_t i = 1; i < rows.size(); ++i)
        std::printf("  %-11s %.0f papers/s, %.2fx serial\n", rows[i].variant.c_str(), rows[i].items_per_second(),
                    rows[0].seconds / rows[i].seconds);
    std::printf("  CPU seconds (this process + its reaped workers) and cores kept busy (CPU / wall):\n   ");
    for (auto& row : rows) {
        double cpu = row.extra["cpu_seconds"].get<double>();
        std::printf(" %s %.2f s = %.2f cores;", row.variant.c_str(), cpu, cpu / row.seconds);
    }
    std::printf("\n  (the parallel loaders' extra CPU over serial is their overhead: decoding papers sent by\n"
                "  the workers, and the hand-over between threads)\n");
    std::cout.flush();
    for (auto& row : rows)
        if (!row.ok) throw std::runtime_error(row.variant + " delivered " + std::to_string(row.n) + " papers, expected " +
                                              std::to_string(s.valid ? s.valid : serial_count));

    lesson.section("4. Who loaded which file when (the drains above)");
    lesson.say("One row per thread, coroutine or process; each file drawn with its own character.");
    for (auto& [name, rec] : pictures) {
        lesson.say("\n" + name + (name == "async" ? " (the first 6 of the tasks, all on one thread)" : "") + ":");
        lesson.timeline(rec, "drain " + name);
    }
}

}  // namespace lesson08
