// Child processes and ports for sections 9 and 10 (see parts.hpp): nghttpx in front of
// the course server, Python reading the store with the real zarr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "parts.hpp"

namespace lesson06 {

using namespace std::chrono_literals;

namespace {

// Every process below `pid` now (children, their children, ...), from /proc.
std::vector<pid_t> descendants_of(pid_t pid) {
    std::vector<pid_t> found;
    std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    for (pid_t child = 0; children >> child;) {
        found.push_back(child);
        for (pid_t below : descendants_of(child)) found.push_back(below);
    }
    return found;
}

// Waits up to `grace` for `pid` (our child) to end, then kills it; reaps it either way.
void end_and_reap(pid_t pid, std::chrono::milliseconds grace) {
    auto deadline = Clock::now() + grace;
    int status = 0;
    for (;;) {
        pid_t got = ::waitpid(pid, &status, WNOHANG);
        if (got == pid || got < 0) return;   // reaped, or not ours to reap (already gone)
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(10ms);
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, int stop_signal) : stop_signal_(stop_signal) {
    if (argv.empty()) throw std::invalid_argument("ChildProcess: no program");
    // A child may start processes of its own (nghttpx runs a worker process). Should the
    // child end before them, they are handed to this process instead of to init, so stop()
    // can reap them too.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    char path[] = "/tmp/course-06-child-XXXXXX";
    int out = ::mkostemp(path, O_CLOEXEC);
    if (out < 0) throw std::runtime_error("cannot create a temporary file for " + argv[0] + "'s output");
    output_path_ = path;
    int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    // Everything the child needs is prepared before fork(): between fork and exec only
    // async-signal-safe calls are allowed (other threads of ours hold locks we cannot take).
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);   // if this lesson dies, the child dies with it
        if (::getppid() != parent) ::_exit(127);
        if (in >= 0) ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(out);
    if (in >= 0) ::close(in);
    if (pid_ < 0) {
        ::unlink(output_path_.c_str());
        throw std::runtime_error("cannot start " + argv[0] + ": fork failed");
    }
}

ChildProcess::~ChildProcess() {
    stop();
    ::unlink(output_path_.c_str());
}

void ChildProcess::reaped(int status, const struct rusage& usage) {
    pid_ = -1;
    if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
    cpu_seconds_ = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                   double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

bool ChildProcess::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    struct rusage usage {};
    if (::wait4(pid_, &status, WNOHANG, &usage) == pid_) {
        reaped(status, usage);
        return false;
    }
    return true;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (running() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    if (pid_ > 0) {
        stop();
        return std::nullopt;
    }
    return exit_code_;
}

void ChildProcess::stop() {
    if (pid_ <= 0) return;
    auto below = descendants_of(pid_);   // before it ends: then they are handed to us
    ::kill(pid_, stop_signal_);
    for (int i = 0; i < 200 && running(); ++i) std::this_thread::sleep_for(10ms);   // 2 s to end cleanly
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        struct rusage usage {};
        if (::wait4(pid_, &status, 0, &usage) == pid_) reaped(status, usage);
        pid_ = -1;
    }
    for (pid_t pid : below) end_and_reap(pid, 2s);   // reaped already by the child: returns at once
}

std::string ChildProcess::output() const {
    std::ifstream in(output_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

double process_tree_cpu_seconds(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto after_name = text.rfind(')');   // the name may hold spaces: fields start after ')'
    if (after_name == std::string::npos) return 0;
    std::istringstream fields(text.substr(after_name + 2));
    std::string skip;
    unsigned long long user = 0, system = 0;
    for (int field = 3; field < 14; ++field) fields >> skip;   // state .. cmajflt
    fields >> user >> system;                                    // fields 14 and 15, in clock ticks
    double seconds = double(user + system) / double(::sysconf(_SC_CLK_TCK));
    std::ifstream children("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    for (pid_t child = 0; children >> child;) seconds += process_tree_cpu_seconds(child);
    return seconds;
}

std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
    std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
    dirs += ":/usr/sbin:/usr/local/sbin:/sbin";   // nghttpx lives in sbin on Debian
    std::stringstream parts(dirs);
    for (std::string dir; std::getline(parts, dir, ':');) {
        if (dir.empty()) continue;
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

namespace {

sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(std::uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

}  // namespace

int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("free_port: socket failed");
    sockaddr_in address = loopback(0);
    socklen_t size = sizeof address;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
              ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("free_port: cannot bind a port on 127.0.0.1");
    return ntohs(address.sin_port);
}

bool wait_until_listening(int port, std::chrono::milliseconds limit, ChildProcess* child) {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address = loopback(port);
        bool connected = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        if (fd >= 0) ::close(fd);
        if (connected) return true;
        if (child && !child->running()) return false;   // it exited: it will never listen
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

HttpUrl parse_http_url(const std::string& url) {
    const std::string scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0) throw std::invalid_argument(url + ": not an http:// URL");
    std::string rest = url.substr(scheme.size());
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    HttpUrl out;
    out.path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
        auto port_text = authority.substr(colon + 1);
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || out.port <= 0 || out.port > 65535)
            throw std::invalid_argument(url + ": bad port");
    }
    if (out.host.empty()) throw std::invalid_argument(url + ": no host");
    return out;
}

}  // namespace lesson06
