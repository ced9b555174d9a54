// The distributed loader: the seed's RemoteChannel and CachingPool, with processes.
//
//   parent process                                   worker processes (fork, reused)
//   ---------------------------------------------    ---------------------------------
//   consumer <-- Channel<Paper> <-- driver thread <== socket ==> worker 1: load file 0, file 2, ...
//                                   poll()s all   <== socket ==> worker 2: load file 1, file 3, ...
//                                   sockets, decodes papers, pushes them;
//                                   hands each idle worker the next file
//
// The driver is the only thread of the parent that touches the workers. Backpressure
// runs all the way: a full channel blocks the driver in push, so it stops reading the
// sockets, so the workers block in send once the socket buffers are full.
//
// A worker dying mid-file (EOF on its socket before its "done"): the parent knows how
// many papers of that file it already pushed (k). Papers cannot be taken back out of
// the channel, so the file is reloaded once on a fresh worker that skips the first k
// papers: nothing lost, nothing twice (a file reads the same every time). If the second
// worker dies too, the file is reported failed with the k papers delivered so far.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <system_error>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loading.hpp"
#include "paper_stream.hpp"
#include "wire.hpp"

namespace course::loading {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

std::int64_t now_ns() { return Clock::now().time_since_epoch().count(); }
Clock::time_point from_ns(std::int64_t ns) { return Clock::time_point(Clock::duration(ns)); }

using course::frames::send_all;   // lessons/common/frames.hpp

// ------------------------------------------------------------------------------
// The worker: runs in the child process, only loader code, until its socket ends.

class Outbox {
public:
    explicit Outbox(int fd) : fd_(fd) { bytes_.reserve(kFlushAt + 64 * 1024); }
    wire::Encoder message() { return wire::Encoder(bytes_); }
    void maybe_flush() {
        if (bytes_.size() >= kFlushAt) flush();
    }
    void flush() {
        if (!send_all(fd_, bytes_)) ::_exit(3);   // the parent is gone: nothing left to do
        bytes_.clear();
    }
    // The crash hook: half of a message, as a worker killed mid-send would leave.
    void send_half() { (void)send_all(fd_, std::string_view(bytes_).substr(0, bytes_.size() / 2)); }

private:
    static constexpr std::size_t kFlushAt = 64 * 1024;
    int fd_;
    std::string bytes_;
};

[[noreturn]] void worker_main(int fd, std::size_t crash_after) {
    Outbox out(fd);
    std::string inbox;
    std::size_t sent = 0;
    char buf[4096];
    for (;;) {
        // Wait for the next "load" message; the parent closing the socket means "quit".
        wire::Frame frame;
        while ((frame = wire::next_frame(inbox)).size == 0) {
            ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) ::_exit(0);
            inbox.append(buf, std::size_t(n));
        }
        wire::Decoder command(frame.body);
        std::size_t skip = command.number();
        fs::path path = command.text();
        inbox.erase(0, frame.size);

        const std::int64_t start = now_ns();
        try {
            std::size_t seen = detail::for_each_paper(path, skip, [&](Paper&& paper) {
                // The test hook of LoaderOptions: after crash_after papers, half of
                // one more message, then die as `kill -9` would make us.
                bool crash = crash_after && sent == crash_after;
                if (crash) out.flush();
                auto m = out.message();
                m.begin(wire::paper);
                m.paper(paper);
                m.end();
                if (crash) {
                    out.send_half();
                    ::raise(SIGKILL);
                }
                ++sent;
                out.maybe_flush();
            });
            auto m = out.message();
            m.begin(wire::done);
            m.number(seen), m.signed_number(start), m.signed_number(now_ns());
            m.end();
        } catch (const load_error& e) {
            auto m = out.message();
            m.begin(wire::failed);
            m.number(0), m.signed_number(start), m.signed_number(now_ns());
            m.number(e.line()), m.text(e.what());
            m.end();
        }
        out.flush();
    }
}

// ------------------------------------------------------------------------------
// The parent side.

struct Worker {
    pid_t pid = -1;
    int fd = -1;
    unsigned number = 0;                 // 1, 2, 3, ... in the order started
    std::vector<char> inbox = std::vector<char>(256 * 1024);   // received bytes: [0, filled)
    std::size_t filled = 0;
    std::optional<std::size_t> file;     // the file it is loading, if any
};

struct FileState {
    std::size_t delivered = 0;   // papers of this file pushed into the channel
    unsigned deaths = 0;         // workers that died loading it
    std::string death_note;      // what happened to the first one
};

std::string describe_status(int status) {
    if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                                    strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "ended";
}

class Driver {
public:
    Driver(const std::vector<fs::path>& files, const LoaderOptions& options, Channel<Paper>& out, ErrorLog& errors)
        : files_(files), options_(options), out_(out), errors_(errors), state_(files.size()) {
        for (std::size_t i = 0; i < files.size(); ++i) pending_.push_back(i);
        wake_ = ::eventfd(0, EFD_CLOEXEC);
        if (wake_ < 0) fail_errno("eventfd");
    }

    // However the driver ends (all done, cancelled, an exception), no worker outlives it.
    ~Driver() {
        for (auto& w : workers_) end_worker(w);
        ::close(wake_);
    }

    // Called by the handle's close() on the consumer's thread: wakes poll().
    void wake() {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
    }

    void run(std::stop_token stop) {
        std::size_t pool = std::min<std::size_t>(options_.workers, files_.size());
        for (std::size_t i = 0; i < pool; ++i) assign(start_worker());

        std::vector<pollfd> fds;
        while (std::any_of(workers_.begin(), workers_.end(), [](auto& w) { return w.file.has_value(); })) {
            fds.assign(1, pollfd{wake_, POLLIN, 0});
            for (auto& w : workers_)
                if (w.file) fds.push_back({w.fd, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                fail_errno("poll");
            }
            if (stop.stop_requested() || (fds[0].revents & POLLIN)) return;   // cancelled
            // A worker that died may have been replaced by one reusing its fd number:
            // after that, poll again rather than trust the old revents.
            for (std::size_t k = 1; k < fds.size(); ++k)
                if (fds[k].revents && !receive(fds[k].fd)) break;
        }
    }

private:
    Worker& start_worker() {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fail_errno("socketpair");
        unsigned number = ++started_;
        std::size_t crash_after = number <= options_.crash_workers ? options_.crash_after_papers : 0;
        pid_t pid = ::fork();
        if (pid < 0) {
            int err = errno;
            ::close(sv[0]), ::close(sv[1]);
            throw std::system_error(err, std::generic_category(), "fork");
        }
        if (pid == 0) {
            // The child: a copy of this one thread. It runs only loader code (glibc's
            // malloc and stdio are safe after fork) and leaves with _exit, never
            // running the parent's destructors or atexit handlers. It keeps only its
            // own socket, as fd 3: another worker's socket held open here would keep
            // that worker from ever seeing the parent close it.
            if (sv[1] != 3) ::dup2(sv[1], 3);
            ::close_range(4, ~0U, 0);
            try {
                worker_main(3, crash_after);
            } catch (...) {
            }
            ::_exit(4);
        }
        ::close(sv[1]);
        workers_.push_back({.pid = pid, .fd = sv[0], .number = number});
        return workers_.back();
    }

    // Gives the worker the next pending file, or leaves it idle.
    void assign(Worker& w) {
        w.file.reset();
        if (pending_.empty()) return;
        std::size_t f = pending_.front();
        pending_.pop_front();
        std::string bytes;
        wire::Encoder m(bytes);
        m.begin(wire::load);
        m.number(state_[f].delivered);   // a reloaded file resumes after these
        m.text(files_[f].string());
        m.end();
        w.file = f;
        if (!send_all(w.fd, bytes)) {
            // Died while idle: its EOF will show in poll and the file goes back then.
        }
    }

    // Reads what one worker sent and handles every whole message; false if the worker
    // died (the set of workers changed).
    bool receive(int fd) {
        auto it = std::find_if(workers_.begin(), workers_.end(), [&](auto& w) { return w.fd == fd; });
        Worker& w = *it;
        // recv straight into the worker's buffer, after the partial message left there.
        if (w.filled == w.inbox.size()) w.inbox.resize(2 * w.inbox.size());   // a message bigger than the buffer
        ssize_t n = ::recv(fd, w.inbox.data() + w.filled, w.inbox.size() - w.filled, 0);
        if (n < 0 && errno == EINTR) return true;
        if (n <= 0) {
            worker_died(it);   // a half message left in its buffer is dropped with it
            return false;
        }
        w.filled += std::size_t(n);

        std::size_t used = 0;
        for (wire::Frame frame;
             (frame = wire::next_frame(std::string_view(w.inbox.data() + used, w.filled - used))).size;) {
            used += frame.size;
            handle(w, frame);   // may block in push: backpressure
        }
        // Keep only the partial message (less than one paper): a short move.
        std::memmove(w.inbox.data(), w.inbox.data() + used, w.filled - used);
        w.filled -= used;
        return true;
    }

    void handle(Worker& w, const wire::Frame& frame) {
        if (!w.file) throw std::runtime_error("message from idle worker pid " + std::to_string(w.pid));
        std::size_t f = *w.file;
        wire::Decoder body(frame.body);
        switch (frame.kind) {
            case wire::paper:
                out_.push(body.paper());
                ++state_[f].delivered;
                return;
            case wire::done:
            case wire::failed: {
                body.number();
                auto start = from_ns(body.signed_number()), end = from_ns(body.signed_number());
                if (options_.recorder)
                    options_.recorder->record_on("process " + std::to_string(w.pid), files_[f].filename().string(),
                                                 start, end, long(w.pid));
                if (frame.kind == wire::failed) {
                    std::size_t line = body.number();
                    errors_.add({.file = files_[f].string(), .line = line, .message = body.text()});
                }
                if (state_[f].deaths > 0)
                    errors_.add({.file = files_[f].string(), .message = state_[f].death_note, .recovered = true});
                assign(w);
                return;
            }
            default:
                throw std::runtime_error("unknown message from worker pid " + std::to_string(w.pid));
        }
    }

    // EOF on a worker's socket: reap it, put its file back (once) or report it failed.
    void worker_died(std::vector<Worker>::iterator it) {
        Worker w = std::move(*it);
        workers_.erase(it);
        int status = 0;
        ::close(w.fd);
        ::kill(w.pid, SIGKILL);   // in case it only closed the socket
        while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (!w.file) return;
        std::size_t f = *w.file;
        FileState& s = state_[f];
        std::string what = "worker " + std::to_string(w.number) + " (pid " + std::to_string(w.pid) + ") " +
                           describe_status(status) + " while loading " + files_[f].string() + " after " +
                           std::to_string(s.delivered) + " of its papers were delivered";
        if (++s.deaths == 1) {
            s.death_note = what + "; the file was reloaded on a new worker, resuming after paper " +
                           std::to_string(s.delivered);
            pending_.push_front(f);
        } else {
            errors_.add({.file = files_[f].string(),
                         .message = s.death_note.substr(0, s.death_note.find(';')) + "; then " + what +
                                    ": giving up, the rest of the file is missing"});
        }
        if (!pending_.empty()) assign(start_worker());
    }

    static void end_worker(Worker& w) {
        ::close(w.fd);
        ::kill(w.pid, SIGKILL);   // busy or idle, it holds nothing worth saving
        int status;
        while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
        }
    }

    const std::vector<fs::path>& files_;
    const LoaderOptions& options_;
    Channel<Paper>& out_;
    ErrorLog& errors_;
    std::vector<FileState> state_;
    std::deque<std::size_t> pending_;
    std::vector<Worker> workers_;
    unsigned started_ = 0;
    int wake_ = -1;
};

}  // namespace

LoadHandle distributed_channel_load(std::vector<fs::path> files, LoaderOptions options) {
    if (options.workers == 0) throw std::invalid_argument("distributed_channel_load: workers must be at least 1");
    return LoadHandle(options.capacity, [files = std::move(files), options](Channel<Paper>& out, ErrorLog& errors,
                                                                           std::stop_token stop) {
        Driver driver(files, options, out, errors);
        std::stop_callback on_stop(stop, [&] { driver.wake(); });
        driver.run(stop);
    });
}

}  // namespace course::loading
