// Section 1: the original material's experiment. Twelve million device ids, each the hex SHA-1 of the
// text of a random version-4 UUID, counted by their first hex digit. In the original material: 57 s in
// one Python process.
//
//   one id:  (seed, index) --splitmix64--> 16 bytes --RFC 4122--> "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
//                                          (version 4, variant 10xx)              |
//                                                                            SHA-1 (EVP)
//            counts[first hex digit] += 1  <--  "5ab40e264de56d04...c4ced6"  <----+
//
//   a map-reduce whose shuffle is 16 numbers per worker:
//     worker 0: ids 0 .. N/2-1   --> 16 counts --+
//     worker 1: ids N/2 .. N-1   --> 16 counts --+--> add --> 16 counts that sum to N
//
// The UUID's bytes come from (seed, index) alone, not from the operating system's random
// source, so every run and every worker count makes the same ids, and the parallel counts
// can be compared with the serial ones exactly.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "parts.hpp"

namespace lesson07 {

namespace {

using namespace std::chrono_literals;

// The original material's figures for 12 M ids: its notebook (Python, one process, a 12-core machine),
// and the original material's gen_device_ids run on a 2-core machine of this kind (python_device_ids.py
// in this folder): one process, and a multiprocessing Pool(2) of two 6 M halves.
constexpr std::uint64_t seed_n = 12'000'000;
constexpr double seed_seconds = 57.4, python_serial = 62.7, python_pool2 = 30.5;

// The original material's aggregation table: groupby('first') over samples of its 12 M ids, seconds,
// pandas in memory and Spark (sample + groupby + collect). -1: no such row.
double seed_pandas(std::uint64_t n) {
    return n == 12'000'000 ? 2.354549 : n == 120'000 ? 0.030982 : n == 1'200 ? 0.002792 : n == 12 ? 0.001873 : -1;
}
double seed_spark(std::uint64_t n) {
    return n == 12'000'000 ? 17.799956 : n == 120'000 ? 16.251669 : n == 1'200 ? 17.157911 : n == 12 ? 15.16537 : -1;
}

// Seconds per item of each stage on one core, each measured alone.
struct StageCosts {
    double sha1 = 0;          // SHA-1 of 36 bytes, digest fetched once
    double sha1_lookup = 0;   // the same through EVP_sha1() at every init
    double uuid = 0;          // mr::uuid4_text
};

StageCosts measure_stages(course::Lesson& lesson, const Settings& s) {
    const std::size_t k = s.quick ? 200'000 : 1'000'000;
    std::string text = mr::uuid4_text(s.seed, 0);   // a real 36-character UUID text
    static constexpr char hex[] = "0123456789abcdef";
    unsigned char digest[20];
    unsigned sink = 0;   // recorded in the --json, so no stage can be optimised away
    auto hash_many = [&](Sha1& sha1, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            text[0] = hex[i & 15];   // a different input every time
            text[1] = hex[(i >> 4) & 15];
            sha1.digest(text.data(), text.size(), digest);
            sink += digest[0];
        }
    };
    StageCosts c;
    Sha1 fetched(true), looked_up(false);
    c.sha1 = course::best_of(3, [&] { hash_many(fetched, k); }) / double(k);
    c.sha1_lookup = course::best_of(3, [&] { hash_many(looked_up, k / 4); }) / double(k / 4);
    c.uuid = course::best_of(3, [&] {
                 for (std::size_t i = 0; i < k; ++i) sink += unsigned(mr::uuid4_text(s.seed, i)[14]);
             }) / double(k);

    course::ResultTable table("device-id-stages");
    auto add = [&](std::string variant, std::size_t n, double per_item, double bound_per_item, std::string bound) {
        auto& row = table.add({.variant = std::move(variant), .n = n, .seconds = per_item * double(n),
                               .bound_seconds = bound_per_item * double(n), .bound = std::move(bound), .workers = 1});
        row.extra["ns_per_item"] = per_item * 1e9;
        row.extra["checksum"] = sink;
    };
    add("SHA-1 of 36 bytes, digest fetched once", k, c.sha1, c.sha1, "(a limit)");
    add("SHA-1 of 36 bytes, EVP_sha1() each time", k / 4, c.sha1_lookup, c.sha1, "fetched once");
    add("uuid4_text (16 bytes as RFC 4122 text)", k, c.uuid, c.uuid, "(a limit)");
    lesson.report(table);
    std::printf("  one core: SHA-1 %s per hash (%.1f M/s), the UUID text %s per id (%.1f M/s)\n",
                human(c.sha1).c_str(), 1e-6 / c.sha1, human(c.uuid).c_str(), 1e-6 / c.uuid);
    std::printf("  EVP_sha1() costs %s per hash: OpenSSL 3 fetches the implementation again at each\n"
                "  EVP_DigestInit_ex with it. Fetch it once (EVP_MD_fetch) and keep one context per thread.\n",
                times_x(c.sha1_lookup / c.sha1).c_str());
    lesson.say("  The bound of N ids on w workers is N x SHA-1 / min(w, cores): the hash is the stage no id can");
    lesson.say("  skip (the UUID text here includes a string allocation that a tight loop does without).");
    return c;
}

Histogram sum(const std::vector<Histogram>& parts) {
    Histogram total{};
    for (const auto& h : parts)
        for (std::size_t d = 0; d < 16; ++d) total[d] += h[d];
    return total;
}

std::uint64_t total_of(const Histogram& h) {
    std::uint64_t n = 0;
    for (auto c : h) n += c;
    return n;
}

// The processes variant: child w counts its contiguous share of the ids and sends its 16
// counts back over its pipe (128 bytes); the parent adds them.
Histogram on_processes(const Settings& s, std::uint64_t n, std::vector<ChildResult>* children) {
    auto results = run_children(
        s.workers,
        [&](unsigned w) {
            Histogram h = count_ids(s.seed, n * w / s.workers, n * (w + 1) / s.workers);
            return std::string(reinterpret_cast<const char*>(h.data()), sizeof h);
        },
        300s);
    std::vector<Histogram> parts;
    for (const auto& r : results) {
        if (r.payload.size() != sizeof(Histogram))
            throw std::runtime_error("worker process " + std::to_string(r.pid) + " sent " +
                                     std::to_string(r.payload.size()) + " bytes, not 16 counts");
        Histogram h;
        std::memcpy(h.data(), r.payload.data(), sizeof h);
        parts.push_back(h);
    }
    if (children) *children = std::move(results);
    return sum(parts);
}

void print_counts_table(const Settings& s, const std::vector<Histogram>& counts,
                        const std::vector<double>& serial_seconds, const std::vector<double>& thread_seconds) {
    std::printf("\n  The original material's table: ids by first hex digit (its groupby('first')), one column per N\n");
    auto row = [&](const char* label, auto cell) {
        std::printf("  %-26s", label);
        for (std::size_t i = 0; i < s.ids.size(); ++i) std::printf("%12s", cell(i).c_str());
        std::printf("\n");
    };
    row("first digit  \\  N", [&](std::size_t i) { return thousands(s.ids[i]); });
    for (std::size_t d = 0; d < 16; ++d) {
        char label[8];
        std::snprintf(label, sizeof label, "%zx", d);
        row(label, [&](std::size_t i) { return thousands(counts[i][d]); });
    }
    row("sum", [&](std::size_t i) { return thousands(total_of(counts[i])); });
    row("largest |count - N/16|", [&](std::size_t i) {
        double expected = double(s.ids[i]) / 16, worst = 0;
        for (auto c : counts[i]) worst = std::max(worst, std::abs(double(c) - expected));
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f %%", expected > 0 ? 100 * worst / expected : 0.0);
        return std::string(buf);
    });
    auto seconds = [](double t) { return t < 0 ? std::string("-") : course::format_seconds(t); };
    std::printf("  seconds:\n");
    row("original: pandas groupby", [&](std::size_t i) { return seconds(seed_pandas(s.ids[i])); });
    row("original: Spark groupby", [&](std::size_t i) { return seconds(seed_spark(s.ids[i])); });
    row("ours: serial, make+count", [&](std::size_t i) { return seconds(serial_seconds[i]); });
    std::string threads = "ours: " + std::to_string(s.workers) + " threads, make+count";
    row(threads.c_str(), [&](std::size_t i) { return seconds(thread_seconds[i]); });
    std::printf("  (the original material's rows only count ids already in memory; ours make every id and count it. A\n"
                "  random count of N/16 strays by about sqrt(N/16): 1 %% at 160,000 ids per digit.)\n");
}

}  // namespace

void device_ids_section(course::Lesson& lesson, Settings& s) {
    lesson.section("1. Device ids, the original material's experiment: sha1(str(uuid4())) counted by first digit");
    lesson.say("An id is the lowercase hex SHA-1 (OpenSSL EVP) of a version-4 UUID's text. The UUID is 16 bytes");
    lesson.say("from splitmix64 of (seed, index), formatted by the RFC 4122 rules (not Boost.UUID's random_generator,");
    lesson.say("whose ids cannot be made again from a seed and an index), so any worker count makes the same ids.");
    lesson.say("Stage limits first: each stage alone on one core.");
    StageCosts costs = measure_stages(lesson, s);
    s.figures.sha1_per_hash = costs.sha1;
    s.figures.uuid_per_id = costs.uuid;

    std::printf("\n  N ids made and counted: serially, on %u threads (device_id_histogram), on %u worker\n"
                "  processes (forked; each sends its 16 counts back over a pipe). Every count is checked\n"
                "  against the serial one, digit by digit.\n",
                s.workers, s.workers);
    course::ResultTable table("device-ids");
    std::vector<Histogram> counts;
    std::vector<double> serial_seconds, thread_seconds;
    std::vector<ChildResult> last_children;
    double largest_serial = 0, largest_threads = 0, largest_processes = 0;
    for (std::uint64_t n : s.ids) {
        const int repeats = n < 10'000'000 ? 3 : 1;   // small runs: the best of 3
        Histogram serial{}, threads{}, processes{};
        double t_serial = course::best_of(repeats, [&] { serial = mr::device_id_histogram(n, 1, s.seed); });
        double t_threads = course::best_of(repeats, [&] { threads = mr::device_id_histogram(n, s.workers, s.seed); });
        double t_processes = course::best_of(repeats, [&] { processes = on_processes(s, n, &last_children); });
        auto add = [&](const char* variant, unsigned w, double seconds, const Histogram& h) {
            bool ok = total_of(h) == n && h == serial;
            if (!ok) s.wrong_result(std::string("section 1, ") + variant + ", N = " + thousands(n));
            auto& row = table.add({.variant = variant, .n = n, .seconds = seconds,
                                   .bound_seconds = double(n) * costs.sha1 / s.busy(w), .bound = "N*sha1/w",
                                   .workers = w, .ok = ok});
            row.extra["ns_per_id"] = seconds / double(n) * 1e9;
            row.extra["counts"] = h;
            if (n == seed_n) {
                row.extra["seed_seconds"] = seed_seconds;
                row.extra["python_here_seconds"] = w == 1 ? python_serial : python_pool2;
            }
        };
        add("serial", 1, t_serial, serial);
        add("threads", s.workers, t_threads, threads);
        add("processes", s.workers, t_processes, processes);
        if (total_of(serial) != n) s.wrong_result("section 1: the serial counts of N = " + thousands(n) + " do not sum to N");
        counts.push_back(serial);
        serial_seconds.push_back(t_serial);
        thread_seconds.push_back(t_threads);
        largest_serial = t_serial, largest_threads = t_threads, largest_processes = t_processes;
        s.figures.ids_threads_seconds = t_threads;
        s.figures.ids_threads_counts = threads;
    }
    lesson.report(table);

    const std::uint64_t n = s.ids.back();
    const double per_id = largest_serial / double(n);
    std::printf("  serial: %s per id; the stages alone need %s (SHA-1) + %s (UUID text)\n", human(per_id).c_str(),
                human(costs.sha1).c_str(), human(costs.uuid).c_str());
    if (per_id > 1.5 * (costs.sha1 + costs.uuid) && per_id > 0.6 * costs.sha1_lookup)
        std::printf("  note: device_id_histogram takes about what EVP_sha1() at every hash costs (%s): does it\n"
                    "  look the digest up again for every id? The processes row hashes with a fetched digest.\n",
                    human(costs.sha1_lookup).c_str());

    // The original material, the original material's code here, and ours, at 12 M ids. (Python's time per id grows with
    // N, a list of 12 M strings strains its memory, so the figures are not scaled to other N.)
    if (n == seed_n) {
        std::printf("\n  12,000,000 ids                                      seconds   ours faster by\n");
        auto line = [&](const std::string& who, double seconds, double python) {
            std::printf("  %-46s %9s %10s\n", who.c_str(), course::format_seconds(seconds).c_str(),
                        python > 0 ? times_x(python / seconds).c_str() : "");
        };
        line("original: Python, one process (12-core machine)", seed_seconds, 0);
        line("original's code here: Python, one process", python_serial, 0);
        line("original's code here: Python, Pool(2)", python_pool2, 0);
        line("ours: serial", largest_serial, python_serial);
        line("ours: " + std::to_string(s.workers) + " threads", largest_threads, python_pool2);
        line("ours: " + std::to_string(s.workers) + " processes", largest_processes, python_pool2);
        lesson.say("  (each of ours beside the Python line of the same worker count: one process, or Pool(2))");
    } else {
        lesson.say("  (the original material's 12 M figures, 57.4 s in its Python and 62.7 s for its code here, are compared\n"
                   "  in a run whose largest N is 12,000,000: the default run)");
    }

    print_counts_table(s, counts, serial_seconds, thread_seconds);

    lesson.say("\n  The " + std::to_string(s.workers) + " worker processes of N = " + thousands(n) +
               " (map: each its share; the reduce is 16 additions per worker, in the parent):");
    course::Recorder rec;
    for (std::size_t w = 0; w < last_children.size(); ++w) {
        const auto& c = last_children[w];
        rec.record_on("process " + std::to_string(c.pid), "ids " + thousands(n * w / s.workers) + " .. " +
                      thousands(n * (w + 1) / s.workers - 1), c.start, c.end, c.pid);
    }
    lesson.timeline(rec, "device-ids processes");
}

}  // namespace lesson07
