#include "tvp.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <exception>
#include <numeric>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace course::tvp {

// ---- parallel_sum ---------------------------------------------------------------------

std::uint64_t parallel_sum(std::span<const std::uint64_t> data, unsigned n_threads) {
    return parallel_sum(data, n_threads, ChunkObserver{});
}

std::uint64_t parallel_sum(std::span<const std::uint64_t> data, unsigned n_threads,
                           const ChunkObserver& on_chunk) {
    if (n_threads == 0) throw std::invalid_argument("parallel_sum: n_threads must be at least 1");

    // Each thread writes only its own slot of partial and its own slot of errors, and
    // the caller reads them only after joining: no two threads touch the same element,
    // so no lock is needed. (The slots sit side by side in memory, but each is written
    // once, at the end, so sharing a cache line costs nothing here.)
    std::vector<std::uint64_t> partial(n_threads, 0);
    std::vector<std::exception_ptr> errors(n_threads);
    auto sum_chunk = [&](unsigned k) {
        try {
            std::size_t first = data.size() * k / n_threads;
            std::size_t last = data.size() * (k + 1) / n_threads;
            if (on_chunk) on_chunk(first, last);
            std::uint64_t sum = 0;
            for (std::size_t i = first; i < last; ++i) sum += data[i];
            partial[k] = sum;
        } catch (...) {
            errors[k] = std::current_exception();   // an exception must not escape a thread
        }
    };
    {
        // Chunks 1..n-1 on new threads, chunk 0 on the calling thread, which would
        // otherwise sit idle in join(). The jthreads join when this block ends, also
        // if creating one of them throws.
        std::vector<std::jthread> workers;
        workers.reserve(n_threads - 1);
        for (unsigned k = 1; k < n_threads; ++k) workers.emplace_back(sum_chunk, k);
        sum_chunk(0);
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    return std::accumulate(partial.begin(), partial.end(), std::uint64_t{0});
}

// ---- Bank -------------------------------------------------------------------------------

Bank::Bank(std::size_t accounts, std::int64_t initial_balance)
    : size_(accounts), accounts_(std::make_unique<Account[]>(accounts)) {
    if (initial_balance < 0) throw std::invalid_argument("Bank: the initial balance must not be negative");
    for (std::size_t i = 0; i < size_; ++i) accounts_[i].balance = initial_balance;
}

void Bank::transfer(std::size_t from, std::size_t to, std::int64_t amount) {
    if (amount < 0) throw std::invalid_argument("Bank::transfer: negative amount " + std::to_string(amount));
    if (from >= size_ || to >= size_)
        throw std::out_of_range("Bank::transfer: account " + std::to_string(std::max(from, to)) +
                                " does not exist (the bank has " + std::to_string(size_) + ")");

    // Lock ordering: every thread takes the lower-numbered account's lock first. A
    // deadlock needs a cycle (A holds 1 and waits for 2 while B holds 2 and waits for 1);
    // if everybody climbs the same ladder, nobody can hold a higher rung while waiting
    // for a lower one, so no cycle can form. from == to takes one lock only: locking a
    // std::mutex twice from one thread is undefined behaviour (in practice, a deadlock
    // with yourself).
    std::unique_lock first(accounts_[std::min(from, to)].mutex);
    std::unique_lock<std::mutex> second;
    if (from != to) second = std::unique_lock(accounts_[std::max(from, to)].mutex);

    Account& payer = accounts_[from];
    if (payer.balance < amount)
        throw insufficient_funds("Bank::transfer: account " + std::to_string(from) + " holds " +
                                 std::to_string(payer.balance) + ", cannot pay " + std::to_string(amount));
    payer.balance -= amount;
    accounts_[to].balance += amount;
}

std::int64_t Bank::balance(std::size_t account) const {
    if (account >= size_) throw std::out_of_range("Bank::balance: account " + std::to_string(account) + " does not exist");
    std::lock_guard lock(accounts_[account].mutex);
    return accounts_[account].balance;
}

std::int64_t Bank::total() const {
    // Hold every account's lock at once (in the same ascending order as transfer), so no
    // transfer can be half done while we add: money in flight is never counted twice or
    // missed. Adding balances one lock at a time would not be enough.
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(size_);
    for (std::size_t i = 0; i < size_; ++i) locks.emplace_back(accounts_[i].mutex);
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < size_; ++i) sum += accounts_[i].balance;
    return sum;
}

std::size_t Bank::size() const { return size_; }

// ---- process_map ------------------------------------------------------------------------

namespace detail {
namespace {

constexpr int fn_threw_status = 101;   // a child's exit status when fn threw

struct Child {
    pid_t pid;
    int fd;              // read end of the child's result pipe
    std::size_t index;   // which input it computes
    std::size_t received = 0;
};

void write_all(int fd, const std::byte* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) ::_exit(102);   // the parent is gone or the pipe broke
        p += w;
        n -= std::size_t(w);
    }
}

int reap(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "process_map: waitpid");
    return status;
}

// Owns the children that are still running. If run_in_child_processes leaves early (a
// child failed, fork or pipe failed), the destructor kills and reaps the rest: no child
// outlives the call and none stays a zombie.
struct Children {
    std::vector<Child> running;
    ~Children() {
        for (auto& c : running) {
            ::kill(c.pid, SIGKILL);
            ::close(c.fd);
            int status;
            while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
            }
        }
    }
};

std::string describe_failure(const Child& c, int status, std::size_t result_size) {
    std::string who = "process_map: input " + std::to_string(c.index) + ": child process " +
                      std::to_string(c.pid);
    if (WIFSIGNALED(status))
        return who + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               ::strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status) && WEXITSTATUS(status) == fn_threw_status)
        return who + " exited with status " + std::to_string(fn_threw_status) + " (fn threw an exception)";
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return who + " exited with status " + std::to_string(WEXITSTATUS(status));
    return who + " sent " + std::to_string(c.received) + " of " + std::to_string(result_size) +
           " result bytes";
}

}  // namespace

void run_in_child_processes(std::size_t n_tasks, unsigned n_procs, std::size_t result_size,
                            const std::function<void(std::size_t, std::byte*)>& compute,
                            std::byte* results) {
    if (n_procs == 0) throw std::invalid_argument("process_map: n_procs must be at least 1");
    Children children;

    auto start = [&](std::size_t i) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category(), "process_map: pipe");
        pid_t pid = ::fork();
        if (pid < 0) {
            int err = errno;
            ::close(fds[0]);
            ::close(fds[1]);
            throw std::system_error(err, std::generic_category(), "process_map: fork");
        }
        if (pid == 0) {
            // The child: a copy of the parent's memory, with only the thread that called
            // fork. It computes into its own copy of the results buffer, writes those
            // bytes to the pipe and leaves with _exit, which skips atexit handlers and
            // stdio flushing (those belong to the parent, and would run twice).
            ::close(fds[0]);
            std::byte* out = results + i * result_size;
            try {
                compute(i, out);
            } catch (...) {
                ::_exit(fn_threw_status);
            }
            write_all(fds[1], out, result_size);
            ::_exit(0);
        }
        // The parent closes its copy of the write end at once: the read end reports EOF
        // only when every write end is closed, that is, when the child is done.
        ::close(fds[1]);
        children.running.push_back({pid, fds[0], i});
    };

    std::size_t next = 0;
    std::vector<pollfd> polled;
    while (next < n_tasks || !children.running.empty()) {
        while (next < n_tasks && children.running.size() < n_procs) start(next++);

        // Wait until some child has written something or closed its pipe.
        polled.clear();
        for (auto& c : children.running) polled.push_back({c.fd, POLLIN, 0});
        if (::poll(polled.data(), polled.size(), -1) < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "process_map: poll");
        }
        // Walk backwards so erasing a finished child keeps the other indices valid.
        for (std::size_t k = polled.size(); k-- > 0;) {
            if (polled[k].revents == 0) continue;
            Child& c = children.running[k];
            std::byte spill[1];   // anything beyond result_size is an error; read it here
            std::byte* dest = c.received < result_size ? results + c.index * result_size + c.received : spill;
            std::size_t room = c.received < result_size ? result_size - c.received : sizeof spill;
            ssize_t got = ::read(c.fd, dest, room);
            if (got < 0) {
                if (errno == EINTR) continue;
                throw std::system_error(errno, std::generic_category(), "process_map: read");
            }
            if (got > 0) {
                c.received += std::size_t(got);
                continue;
            }
            // EOF: the child closed its pipe, so it has exited or is about to. Reap it.
            Child done = c;
            ::close(done.fd);
            children.running.erase(children.running.begin() + std::ptrdiff_t(k));
            int status = reap(done.pid);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || done.received != result_size)
                throw child_failed(done.index, describe_failure(done, status, result_size));
        }
    }
}

}  // namespace detail

}  // namespace course::tvp
