// Topic 07, the reference solution: device ids, and a word count whose map and reduce
// tasks run in worker processes under a coordinator that survives dead and slow workers.
#include "mapreduce.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "common/gzip_lines.hpp"
#include "common/stopwatch.hpp"
#include "loading.hpp"  // 08's parse_paper: the same papers and tokens

namespace course::mapreduce {
namespace fs = std::filesystem;

// ------------------------------------------------------------------ device ids

namespace {

// splitmix64: a small, good mixer; the bytes of id `index` depend on (seed, index) only.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// The 36 characters of the version-4 UUID of (seed, index), written into `out`.
void format_uuid4(std::uint64_t seed, std::uint64_t index, char out[36]) {
    std::uint64_t base = mix(seed ^ 0x5eed5eed5eed5eedull) + index * 2;
    std::uint64_t halves[2] = {mix(base), mix(base + 1)};
    unsigned char b[16];
    for (int i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(halves[i / 8] >> (8 * (i % 8)));
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4 (random)
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10xx (RFC 4122)
    static constexpr char hex[] = "0123456789abcdef";
    int at = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[at++] = '-';
        out[at++] = hex[b[i] >> 4];
        out[at++] = hex[b[i] & 15];
    }
}

// One SHA-1 context per thread, reused for every id (creating one costs more than hashing
// 36 bytes), and the algorithm fetched once: OpenSSL 3 looks EVP_sha1() up again at every
// EVP_DigestInit_ex (226 ns against 66 ns per hash here, and the lookup contends between
// threads).
class Sha1 {
public:
    Sha1() : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA1", nullptr)) {
        if (!ctx_ || !md_) {
            EVP_MD_CTX_free(ctx_);
            EVP_MD_free(md_);
            throw std::runtime_error("OpenSSL: no SHA-1 context or algorithm");
        }
    }
    ~Sha1() {
        EVP_MD_CTX_free(ctx_);
        EVP_MD_free(md_);
    }
    Sha1(const Sha1&) = delete;
    Sha1& operator=(const Sha1&) = delete;
    void digest(const char* data, std::size_t size, unsigned char out[20]) {
        unsigned int length = 0;
        if (EVP_DigestInit_ex(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, data, size) != 1 ||
            EVP_DigestFinal_ex(ctx_, out, &length) != 1 || length != 20)
            throw std::runtime_error("SHA-1 failed");
    }

private:
    EVP_MD_CTX* ctx_;
    EVP_MD* md_;
};

}  // namespace

std::string uuid4_text(std::uint64_t seed, std::uint64_t index) {
    char text[36];
    format_uuid4(seed, index, text);
    return std::string(text, 36);
}

std::string device_id(std::uint64_t seed, std::uint64_t index) {
    char text[36];
    format_uuid4(seed, index, text);
    unsigned char digest[20];
    thread_local Sha1 sha1;  // one per thread, made once
    sha1.digest(text, 36, digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string id(40, '0');
    for (int i = 0; i < 20; ++i) {
        id[std::size_t(2 * i)] = hex[digest[i] >> 4];
        id[std::size_t(2 * i + 1)] = hex[digest[i] & 15];
    }
    return id;
}

std::array<std::uint64_t, 16> device_id_histogram(std::uint64_t n, unsigned workers, std::uint64_t seed) {
    if (workers == 0) throw std::invalid_argument("device_id_histogram: workers must be at least 1");
    // Map: worker w counts the ids of its contiguous share; reduce: add the 16 counts.
    // (A map-reduce whose shuffle is 16 numbers per worker.)
    std::vector<std::array<std::uint64_t, 16>> counts(workers);
    std::set<std::thread::id> threads;
    detail::run_tasks(workers, workers, threads, [&](std::size_t w) {
        std::uint64_t begin = n * w / workers, end = n * (w + 1) / workers;
        Sha1 sha1;
        std::array<std::uint64_t, 16> local{};
        char text[36];
        unsigned char digest[20];
        for (std::uint64_t i = begin; i < end; ++i) {
            format_uuid4(seed, i, text);
            sha1.digest(text, 36, digest);
            ++local[digest[0] >> 4];  // the first hex digit of the id
        }
        counts[w] = local;
    });
    std::array<std::uint64_t, 16> total{};
    for (const auto& c : counts)
        for (int d = 0; d < 16; ++d) total[std::size_t(d)] += c[std::size_t(d)];
    return total;
}

// ------------------------------------------------------------------ word count on processes

namespace {

using Counts = std::unordered_map<std::string, std::uint64_t>;

// Intermediate files: records of (token length, token, count), binary, so any byte may
// be in a token. Written to "<name>.tmp" and renamed to "<name>" when complete: a reader
// never sees half a file, and a dead worker leaves only a .tmp behind.
void write_counts(const fs::path& path, const std::vector<std::pair<std::string, std::uint64_t>>& records) {
    fs::path tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        for (const auto& [token, count] : records) {
            auto length = std::uint32_t(token.size());
            out.write(reinterpret_cast<const char*>(&length), sizeof length);
            out.write(token.data(), std::streamsize(token.size()));
            out.write(reinterpret_cast<const char*>(&count), sizeof count);
        }
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, path);
}

void read_counts(const fs::path& path, Counts& into) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::uint32_t length = 0;
    while (in.read(reinterpret_cast<char*>(&length), sizeof length)) {
        std::string token(length, '\0');
        std::uint64_t count = 0;
        in.read(token.data(), length);
        in.read(reinterpret_cast<char*>(&count), sizeof count);
        if (!in) throw std::runtime_error("truncated intermediate file " + path.string());
        into[token] += count;
    }
}

// The names of the files one task attempt writes.
fs::path map_output(const fs::path& scratch, std::size_t task, int attempt, std::size_t r) {
    return scratch / ("map-" + std::to_string(task) + "-a" + std::to_string(attempt) + "-r" + std::to_string(r));
}
fs::path reduce_output(const fs::path& scratch, std::size_t r, int attempt) {
    return scratch / ("reduce-" + std::to_string(r) + "-a" + std::to_string(attempt));
}

// What a worker does for "map i attempt": count the tokens of file i, split the counts
// by partition, write one file per partition.
void run_map(const fs::path& file, const fs::path& scratch, std::size_t task, int attempt, const ProcessOptions& o,
             bool kill_halfway) {
    Counts counts;
    std::vector<std::vector<std::pair<std::string, std::uint64_t>>> parts(o.partitions);
    course::GzipLineReader reader(file.string());
    std::string_view line;
    while (reader.next(line)) {
        auto paper = course::loading::parse_paper(line);
        if (!paper) continue;
        for (const auto& sentence : paper->abstract_tokens)
            for (const auto& token : sentence) {
                if (o.combiner) ++counts[token];
                else parts[partition_of(token, o.partitions)].emplace_back(token, 1);
            }
    }
    for (auto& [token, count] : counts) parts[partition_of(token, o.partitions)].emplace_back(token, count);
    for (std::size_t r = 0; r < parts.size(); ++r) {
        if (kill_halfway && r == parts.size() / 2) raise(SIGKILL);  // the test hook: die mid-output
        write_counts(map_output(scratch, task, attempt, r), parts[r]);
    }
}

// "reduce r attempt a0 a1 ...": sum partition r of every map task's accepted attempt.
void run_reduce(const fs::path& scratch, std::size_t r, int attempt, const std::vector<int>& map_attempts,
                bool kill_halfway) {
    Counts total;
    for (std::size_t m = 0; m < map_attempts.size(); ++m) {
        if (kill_halfway && m == map_attempts.size() / 2) raise(SIGKILL);
        read_counts(map_output(scratch, m, map_attempts[m], r), total);
    }
    std::vector<std::pair<std::string, std::uint64_t>> sorted(total.begin(), total.end());
    std::sort(sorted.begin(), sorted.end());
    write_counts(reduce_output(scratch, r, attempt), sorted);
}

// A worker process: reads one command per line from `in`, runs it, answers "done" or
// "fail <why>" on `out`; exits at end of input.
[[noreturn]] void worker_main(int in, int out, const std::vector<fs::path>& files, const fs::path& scratch,
                              const ProcessOptions& o) {
    std::string buffer;
    char chunk[4096];
    auto reply = [&](const std::string& text) {
        std::string line = text + "\n";
        for (std::size_t sent = 0; sent < line.size();) {
            ssize_t n = ::write(out, line.data() + sent, line.size() - sent);
            if (n <= 0) _exit(3);
            sent += std::size_t(n);
        }
    };
    for (;;) {
        auto newline = buffer.find('\n');
        if (newline == std::string::npos) {
            ssize_t n = ::read(in, chunk, sizeof chunk);
            if (n <= 0) _exit(0);  // the coordinator closed our pipe: done
            buffer.append(chunk, std::size_t(n));
            continue;
        }
        std::istringstream command(buffer.substr(0, newline));
        buffer.erase(0, newline + 1);
        std::string kind;
        std::size_t task = 0;
        int attempt = 0;
        command >> kind >> task >> attempt;
        std::string name = kind + " " + std::to_string(task);
        bool faulty = o.fault.kind != Fault::Kind::none && o.fault.task == name && attempt == 0;
        if (faulty && o.fault.kind == Fault::Kind::stall) std::this_thread::sleep_for(o.fault.stall);
        bool kill = faulty && o.fault.kind == Fault::Kind::kill;
        try {
            if (kind == "map") {
                run_map(files.at(task), scratch, task, attempt, o, kill);
            } else {
                std::vector<int> attempts;
                for (int a; command >> a;) attempts.push_back(a);
                run_reduce(scratch, task, attempt, attempts, kill);
            }
            reply("done " + name + " " + std::to_string(attempt));
        } catch (const std::exception& e) {
            std::string why = e.what();
            std::replace(why.begin(), why.end(), '\n', ' ');
            reply("fail " + name + " " + std::to_string(attempt) + " " + why);
        }
    }
}

// The coordinator's view of one worker process.
struct Worker {
    pid_t pid = -1;
    int to = -1, from = -1;  // pipe ends: commands to it, replies from it
    std::string buffer;      // reply bytes not yet a whole line
    std::optional<std::size_t> running;  // index into the coordinator's attempts
};

// The coordinator's view of one run of one task.
struct Attempt {
    std::string task;
    int number = 0;
    std::size_t report = 0;   // index into reports
    Clock::time_point started;
    bool finished = false;
};

class Coordinator {
public:
    Coordinator(const std::vector<fs::path>& files, const ProcessOptions& o, const fs::path& scratch)
        : files_(files), o_(o), scratch_(scratch) {}

    ~Coordinator() { stop_all(); }

    std::vector<std::pair<std::string, std::uint64_t>> run() {
        for (unsigned i = 0; i < o_.workers; ++i) start_worker();
        // The map phase, then the reduce phase: a reduce needs every map's output.
        std::vector<std::string> maps, reduces;
        for (std::size_t i = 0; i < files_.size(); ++i) maps.push_back("map " + std::to_string(i));
        run_phase(maps);
        for (unsigned r = 0; r < o_.partitions; ++r) reduces.push_back("reduce " + std::to_string(r));
        run_phase(reduces);

        Counts all;
        for (unsigned r = 0; r < o_.partitions; ++r)
            read_counts(reduce_output(scratch_, r, accepted_.at("reduce " + std::to_string(r))), all);
        std::vector<std::pair<std::string, std::uint64_t>> sorted(all.begin(), all.end());
        std::sort(sorted.begin(), sorted.end());
        return sorted;
    }

    std::vector<TaskReport> reports;

private:
    // Hands out `tasks` until each has one accepted completion.
    void run_phase(const std::vector<std::string>& tasks) {
        std::deque<std::string> queue(tasks.begin(), tasks.end());
        std::size_t done = 0;
        std::set<std::string> backed_up;
        while (done < tasks.size()) {
            // Give idle workers work: queued tasks first, then (backup tasks) second runs
            // of tasks still in flight, then any task that has run past its timeout.
            for (auto& w : workers_) {
                if (w.running) continue;
                if (!queue.empty()) {
                    assign(w, queue.front(), false);
                    queue.pop_front();
                } else if (auto late = second_run_candidate(backed_up)) {
                    backed_up.insert(*late);
                    assign(w, *late, true);
                }
            }
            wait_for_replies(done);
            // A dead worker's task goes back to the queue; a new worker takes its place.
            for (auto& task : requeue_) queue.push_front(task);
            requeue_.clear();
        }
        // Workers still running a second copy of a finished task: stop them, start fresh.
        for (auto& w : workers_)
            if (w.running) {
                TaskReport& report = reports[attempts_[*w.running].report];
                report.end = since_start();
                report.signal = SIGKILL;
                replace_worker(w, SIGKILL);
            }
    }

    // A task in flight that deserves a second run: any, when backup tasks are on and the
    // queue is empty; otherwise one that has run longer than the task timeout.
    std::optional<std::string> second_run_candidate(const std::set<std::string>& backed_up) {
        for (auto& w : workers_) {
            if (!w.running) continue;
            const Attempt& a = attempts_[*w.running];
            if (a.finished || backed_up.count(a.task) || accepted_.count(a.task)) continue;
            if (o_.backup_tasks || Clock::now() - a.started > o_.task_timeout) return a.task;
        }
        return std::nullopt;
    }

    void assign(Worker& w, const std::string& task, bool rerun) {
        int number = next_attempt_[task]++;
        std::string command = task + " " + std::to_string(number);
        if (task.rfind("reduce", 0) == 0)
            for (std::size_t m = 0; m < files_.size(); ++m) command += " " + std::to_string(accepted_.at("map " + std::to_string(m)));
        command += "\n";
        if (::write(w.to, command.data(), command.size()) != ssize_t(command.size()))
            throw std::runtime_error("cannot send a task to worker " + std::to_string(w.pid));
        reports.push_back({.task = task, .worker = w.pid, .rerun = rerun || number > 0,
                           .start = since_start()});
        attempts_.push_back({task, number, reports.size() - 1, Clock::now(), false});
        w.running = attempts_.size() - 1;
    }

    void wait_for_replies(std::size_t& done) {
        std::vector<pollfd> fds;
        for (auto& w : workers_) fds.push_back({w.from, POLLIN, 0});
        int ready = ::poll(fds.data(), fds.size(), 50);
        if (ready < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            Worker& w = workers_[i];
            char chunk[4096];
            ssize_t n = ::read(w.from, chunk, sizeof chunk);
            if (n <= 0) {  // the worker is gone: find out how, re-run its task elsewhere
                worker_died(w);
                continue;
            }
            w.buffer.append(chunk, std::size_t(n));
            for (auto newline = w.buffer.find('\n'); newline != std::string::npos; newline = w.buffer.find('\n')) {
                std::string line = w.buffer.substr(0, newline);
                w.buffer.erase(0, newline + 1);
                on_reply(w, line, done);
            }
        }
    }

    void on_reply(Worker& w, const std::string& line, std::size_t& done) {
        Attempt& a = attempts_.at(*w.running);
        a.finished = true;
        reports[a.report].end = since_start();
        w.running.reset();
        if (line.rfind("fail", 0) == 0) throw std::runtime_error(a.task + ": " + line.substr(5));
        // The first completion of a task is the one counted; a later one is ignored (its
        // files are removed with the scratch folder).
        if (accepted_.emplace(a.task, a.number).second) {
            reports[a.report].accepted = true;
            ++done;
        }
    }

    void worker_died(Worker& w) {
        int status = 0;
        ::waitpid(w.pid, &status, 0);
        if (w.running) {
            Attempt& a = attempts_[*w.running];
            reports[a.report].end = since_start();
            reports[a.report].signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            if (!accepted_.count(a.task)) requeue_.push_back(a.task);
        }
        replace_worker(w, 0);
    }

    // Ends worker `w` (with `signal`, or 0 when it is already reaped) and starts another
    // in its place.
    void replace_worker(Worker& w, int signal) {
        if (signal) {
            ::kill(w.pid, signal);
            ::waitpid(w.pid, nullptr, 0);
        }
        ::close(w.to);
        ::close(w.from);
        w = spawn();
    }

    void start_worker() { workers_.push_back(spawn()); }

    Worker spawn() {
        int down[2], up[2];
        if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "pipe2");
        pid_t pid = ::fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
        if (pid == 0) {
            ::close(down[1]);
            ::close(up[0]);
            for (auto& other : workers_) {  // a worker holds no other worker's pipes
                ::close(other.to);
                ::close(other.from);
            }
            worker_main(down[0], up[1], files_, scratch_, o_);
        }
        ::close(down[0]);
        ::close(up[1]);
        return {pid, down[1], up[0], {}, {}};
    }

    void stop_all() {
        for (auto& w : workers_) {
            ::close(w.to);  // an idle worker exits at end of input
            if (w.running) ::kill(w.pid, SIGKILL);
        }
        for (auto& w : workers_) {
            ::waitpid(w.pid, nullptr, 0);
            ::close(w.from);
        }
        workers_.clear();
    }

    double since_start() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

    const std::vector<fs::path>& files_;
    const ProcessOptions& o_;
    fs::path scratch_;
    std::vector<Worker> workers_;
    std::vector<Attempt> attempts_;
    std::map<std::string, int> next_attempt_;
    std::map<std::string, int> accepted_;  // task -> the attempt whose output counts
    std::vector<std::string> requeue_;
    Clock::time_point start_ = Clock::now();
};

// A scratch folder made for one word_count, removed with everything in it at the end.
struct Scratch {
    fs::path path;
    bool owned = false;
    explicit Scratch(const fs::path& given) {
        if (!given.empty()) {
            path = given / ("word-count-" + std::to_string(::getpid()));
        } else {
            static std::atomic<int> counter{0};
            path = fs::temp_directory_path() /
                   ("course-word-count-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        }
        fs::remove_all(path);
        fs::create_directories(path);
        owned = true;
    }
    ~Scratch() {
        std::error_code ignored;
        if (owned) fs::remove_all(path, ignored);
    }
};

}  // namespace

std::vector<std::pair<std::string, std::uint64_t>> word_count(const std::vector<fs::path>& files,
                                                              const ProcessOptions& options) {
    if (options.workers == 0) throw std::invalid_argument("word_count: workers must be at least 1");
    if (options.partitions == 0) throw std::invalid_argument("word_count: partitions must be at least 1");
    for (const auto& f : files)
        if (!fs::is_regular_file(f)) throw std::invalid_argument("word_count: no such file " + f.string());
    Scratch scratch(options.scratch);
    std::vector<std::pair<std::string, std::uint64_t>> result;
    {
        Coordinator coordinator(files, options, scratch.path);
        result = coordinator.run();
        if (options.reports) *options.reports = coordinator.reports;
    }  // every worker stopped and reaped here
    return result;
}

}  // namespace course::mapreduce
