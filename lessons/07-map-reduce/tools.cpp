// Small tools the sections of lesson 07 share (see parts.hpp).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "parts.hpp"

namespace lesson07 {

// ---------------------------------------------------------------- SHA-1 and device ids

Sha1::Sha1(bool fetch_once) : ctx_(EVP_MD_CTX_new()) {
    if (fetch_once) fetched_ = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    if (!ctx_ || (fetch_once && !fetched_)) {
        EVP_MD_free(fetched_);
        EVP_MD_CTX_free(ctx_);
        throw std::runtime_error("OpenSSL: cannot set up SHA-1 (EVP_MD_CTX_new or EVP_MD_fetch failed)");
    }
}

Sha1::~Sha1() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(fetched_);
}

void Sha1::digest(const char* data, std::size_t size, unsigned char out[20]) {
    const EVP_MD* md = fetched_ ? fetched_ : EVP_sha1();
    unsigned int length = 0;
    if (EVP_DigestInit_ex(ctx_, md, nullptr) != 1 || EVP_DigestUpdate(ctx_, data, size) != 1 ||
        EVP_DigestFinal_ex(ctx_, out, &length) != 1 || length != 20)
        throw std::runtime_error("OpenSSL: SHA-1 of a " + std::to_string(size) + "-byte input failed");
}

Histogram count_ids(std::uint64_t seed, std::uint64_t begin, std::uint64_t end) {
    Sha1 sha1;
    Histogram counts{};
    unsigned char digest[20];
    for (std::uint64_t i = begin; i < end; ++i) {
        std::string text = mr::uuid4_text(seed, i);
        sha1.digest(text.data(), text.size(), digest);
        ++counts[digest[0] >> 4];   // the id's first hex digit is the digest's first 4 bits
    }
    return counts;
}

// ---------------------------------------------------------------- forked workers

namespace {

void write_all(int fd, const std::string& bytes) {
    for (std::size_t sent = 0; sent < bytes.size();) {
        ssize_t n = ::write(fd, bytes.data() + sent, bytes.size() - sent);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;   // the parent is gone: nobody to tell
        sent += std::size_t(n);
    }
}

std::string ticks_bytes(Clock::time_point t) {
    Clock::rep ticks = t.time_since_epoch().count();
    return std::string(reinterpret_cast<const char*>(&ticks), sizeof ticks);
}

Clock::time_point from_ticks(const std::string& bytes, std::size_t at) {
    Clock::rep ticks = 0;
    std::memcpy(&ticks, bytes.data() + at, sizeof ticks);
    return Clock::time_point(Clock::duration(ticks));
}

// The children of one run_children call. Its destructor is the guarantee: any child not
// reaped yet is killed and reaped, whether run_children returns or throws.
struct Children {
    struct Child {
        pid_t pid = -1;
        int from = -1;        // read end of the child's pipe (-1 once at end of file)
        std::string bytes;    // what it sent
        int status = 0;
        bool reaped = false;
    };
    std::vector<Child> list;

    ~Children() {
        for (auto& c : list) {
            if (c.from >= 0) ::close(c.from);
            if (c.pid > 0 && !c.reaped) {
                ::kill(c.pid, SIGKILL);
                ::waitpid(c.pid, &c.status, 0);
            }
        }
    }
};

std::string how_it_ended(int status) {
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                    ::strsignal(WTERMSIG(status)) + ")";
    return "exit code " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::vector<ChildResult> run_children(unsigned workers, const std::function<std::string(unsigned)>& job,
                                      std::chrono::milliseconds limit) {
    Children children;
    children.list.resize(workers);
    const pid_t parent = ::getpid();
    for (unsigned w = 0; w < workers; ++w) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("pipe2 for worker process ") + std::to_string(w) + ": " +
                                     std::strerror(errno));
        pid_t pid = ::fork();
        if (pid < 0) {
            ::close(fds[0]);
            ::close(fds[1]);
            throw std::runtime_error(std::string("fork of worker process ") + std::to_string(w) + ": " +
                                     std::strerror(errno));
        }
        if (pid == 0) {   // the child: work, answer, _exit
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);   // should the lesson die, its workers die too
            if (::getppid() != parent) ::_exit(1);
            ::close(fds[0]);
            for (unsigned other = 0; other < w; ++other) ::close(children.list[other].from);
            std::string answer;
            int code = 0;
            try {
                Clock::time_point start = Clock::now();
                std::string payload = job(w);
                answer = "R" + ticks_bytes(start) + ticks_bytes(Clock::now()) + payload;
            } catch (const std::exception& e) {
                answer = std::string("E") + e.what();
                code = 1;
            }
            write_all(fds[1], answer);
            ::_exit(code);
        }
        ::close(fds[1]);
        children.list[w].pid = pid;
        children.list[w].from = fds[0];
    }

    // Read every pipe until each is at end of file: a child closes it by exiting.
    const auto deadline = Clock::now() + limit;
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<Children::Child*> owners;
        for (auto& c : children.list)
            if (c.from >= 0) {
                fds.push_back({c.from, POLLIN, 0});
                owners.push_back(&c);
            }
        if (fds.empty()) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            for (auto* c : owners)
                if (c->from >= 0)
                    throw std::runtime_error("worker process " + std::to_string(c->pid) + " still running after " +
                                             std::to_string(limit.count()) + " ms: killed");
        }
        int ready = ::poll(fds.data(), fds.size(), int(std::min<long long>(left, 1000)));
        if (ready < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char chunk[65536];
            ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ::close(owners[i]->from);
                owners[i]->from = -1;
            } else {
                owners[i]->bytes.append(chunk, std::size_t(n));
            }
        }
    }

    // Every pipe is closed: each child has exited or is exiting. Reap them all first,
    // then judge, so that a failure reported below leaves no zombie behind.
    for (auto& c : children.list) {
        ::waitpid(c.pid, &c.status, 0);
        c.reaped = true;
    }
    std::vector<ChildResult> results;
    for (unsigned w = 0; w < workers; ++w) {
        auto& c = children.list[w];
        std::string who = "worker process " + std::to_string(w) + " (pid " + std::to_string(c.pid) + ")";
        if (!c.bytes.empty() && c.bytes[0] == 'E') throw std::runtime_error(who + ": " + c.bytes.substr(1));
        const std::size_t header = 1 + 2 * sizeof(Clock::rep);
        if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0 || c.bytes.size() < header || c.bytes[0] != 'R')
            throw std::runtime_error(who + " ended without its result: " + how_it_ended(c.status));
        results.push_back({long(c.pid), c.bytes.substr(header), from_ticks(c.bytes, 1),
                           from_ticks(c.bytes, 1 + sizeof(Clock::rep))});
    }
    return results;
}

// ---------------------------------------------------------------- the word count

WordCounts sorted(const Counts& counts) {
    WordCounts out(counts.begin(), counts.end());
    std::sort(out.begin(), out.end());
    return out;
}

std::string first_difference(const WordCounts& expected, const WordCounts& got) {
    std::size_t i = 0;
    while (i < expected.size() && i < got.size() && expected[i] == got[i]) ++i;
    if (i == expected.size() && i == got.size()) return "";
    if (i == got.size()) return "\"" + expected[i].first + "\" is missing (" + std::to_string(expected[i].second) + " in the serial count)";
    if (i == expected.size()) return "\"" + got[i].first + "\" is not in the serial count";
    if (expected[i].first != got[i].first)
        return "\"" + std::min(expected[i].first, got[i].first) + "\" is in one count only";
    return "\"" + got[i].first + "\": " + std::to_string(got[i].second) + " here, " +
           std::to_string(expected[i].second) + " in the serial count";
}

WordCounts top_words(const Counts& counts, std::size_t k) {
    WordCounts all(counts.begin(), counts.end());
    auto by_count = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
    k = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(k), all.end(), by_count);
    all.resize(k);
    return all;
}

// ---------------------------------------------------------------- timelines

namespace {

std::string signal_name(int signal) {
    if (signal == SIGKILL) return "SIGKILL";
    return "signal " + std::to_string(signal);
}

// What became of one task run, in a few words ("" for a plain accepted first run).
std::string fate(const mr::TaskReport& r) {
    if (r.signal) return "killed by " + signal_name(r.signal);
    if (r.accepted) return r.rerun ? "re-run, counted" : "";
    return r.rerun ? "backup, not counted" : "not counted";
}

}  // namespace

void record_reports(course::Recorder& rec, const std::vector<mr::TaskReport>& reports, Clock::time_point origin) {
    // A run abandoned when its phase ended (the slower copy of a backed-up task) has no
    // end time in its report: draw it up to the last end seen in that phase.
    double phase_end[2] = {0, 0};   // map, reduce
    for (const auto& r : reports) {
        int phase = r.task.rfind("map", 0) == 0 ? 0 : 1;
        phase_end[phase] = std::max(phase_end[phase], r.end);
    }
    auto at = [&](double seconds) {
        return origin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    };
    for (const auto& r : reports) {
        double end = r.end > r.start ? r.end : std::max(r.start, phase_end[r.task.rfind("map", 0) == 0 ? 0 : 1]);
        std::string what = fate(r);
        rec.record_on("worker " + std::to_string(r.worker), what.empty() ? r.task : r.task + " (" + what + ")",
                      at(r.start), at(end), long(r.worker));
    }
}

std::string describe(const mr::TaskReport& r) {
    char times[64];
    if (r.end > r.start) std::snprintf(times, sizeof times, "%.3f .. %.3f s", r.start, r.end);
    else std::snprintf(times, sizeof times, "%.3f s .. (stopped when its phase ended)", r.start);
    std::string what = fate(r);
    return r.task + " on worker " + std::to_string(r.worker) + ": " + times +
           (what.empty() ? ", counted" : ", " + what);
}

char timeline_mark(const std::vector<mr::TaskReport>& reports, std::size_t i) {
    static constexpr char marks[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::size_t earlier = 0;
    for (const auto& r : reports) earlier += r.start < reports[i].start;
    return marks[earlier % (sizeof marks - 1)];
}

// ---------------------------------------------------------------- numbers

double amdahl_speedup(double f, double n) { return 1.0 / (f + (1.0 - f) / n); }

double fit_serial_fraction(const std::vector<std::pair<unsigned, double>>& times) {
    double t1 = 0;
    for (auto& [w, t] : times)
        if (w == 1) t1 = t;
    if (t1 <= 0) return 0;
    // T(w)/T(1) - 1/w = f (1 - 1/w): a line through the origin in x = 1 - 1/w.
    double xy = 0, xx = 0;
    for (auto& [w, t] : times) {
        double x = 1.0 - 1.0 / w, y = t / t1 - 1.0 / w;
        xy += x * y;
        xx += x * x;
    }
    return xx > 0 ? std::clamp(xy / xx, 0.0, 1.0) : 0.0;
}

std::string thousands(std::uint64_t n) { return course::format_thousands(n); }

std::string human(double seconds) { return course::format_duration(seconds); }

std::string times_x(double ratio) {
    char buf[32];
    std::snprintf(buf, sizeof buf, ratio >= 100 ? "%.0fx" : "%.1fx", ratio);
    return buf;
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    return in >> one ? one : "?";
}

std::string megabytes(std::uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, bytes >= 10'000'000 ? "%.0f MB" : "%.1f MB", double(bytes) / 1e6);
    return buf;
}

}  // namespace lesson07
