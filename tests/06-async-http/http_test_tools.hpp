// What the tests of topic 06 share: peers that misbehave on purpose (a port that refuses,
// a server that hangs up at once), a small Zarr store in a temporary folder, and a
// printer so a failing check shows a Result's fields instead of {?}.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "common/local_server.hpp"
#include "course_catch.hpp"
#include "datasets/zarr.hpp"
#include "http.hpp"
#include "temp_dir.hpp"

namespace course::http {
// Catch2 prints a Result in a failing check with this.
inline std::ostream& operator<<(std::ostream& out, const Result& r) {
    out << "Result{status " << r.status << ", " << r.body.size() << " body bytes, error \"" << r.error << "\"}";
    return out;
}
}  // namespace course::http

namespace http_test {

// A socket bound to a loopback port but not listening: a connection to that port is
// refused at once (RST), and no other program can take the port while this lives.
// A TCP socket bound to 127.0.0.1 on a port the system picks; its descriptor and port.
inline std::pair<int, std::uint16_t> bind_loopback(const char* who) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw std::runtime_error(std::string(who) + ": cannot bind a loopback port");
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    return {fd, ntohs(address.sin_port)};
}

class RefusingPort {
public:
    RefusingPort() { std::tie(fd_, port_) = bind_loopback("RefusingPort"); }
    ~RefusingPort() { ::close(fd_); }
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A server that accepts every connection and closes it without a word: the client
// gets no answer ("Empty reply from server"). It counts the connections: each is one
// attempt of a client. Its thread stops when it is destroyed.
class HangUpServer {
public:
    HangUpServer() {
        std::tie(fd_, port_) = bind_loopback("HangUpServer");
        if (::listen(fd_, 64) != 0) throw std::runtime_error("HangUpServer: cannot listen");
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, 50) <= 0) continue;
                int client = ::accept(fd_, nullptr, nullptr);
                if (client < 0) continue;
                ++accepted_;
                ::close(client);
            }
        });
    }
    ~HangUpServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    HangUpServer(const HangUpServer&) = delete;
    HangUpServer& operator=(const HangUpServer&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int accepted() const { return accepted_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

// A small Zarr v2 store (datasets/zarr.hpp: float64 0..values-1, `chunk` per chunk,
// zlib) in a temporary folder, served by a LocalServer under /files/store.zarr.
struct ServedStore {
    course::datasets::ZarrOptions options;
    course::testing::TempDir dir{"course-zarr"};
    std::filesystem::path store;
    course::LocalServer server;

    explicit ServedStore(course::datasets::ZarrOptions o = {.values = 103, .chunk = 5},
                         course::ServerOptions server_options = {})
        : options(o), store(dir.path / "store.zarr"), server(with_files(server_options, dir.path, o)) {}

    std::string url() const { return server.url() + "/files/store.zarr"; }
    std::size_t chunks() const { return course::datasets::zarr_chunk_count(options); }
    std::string file(const std::string& key) const {
        std::ifstream in(store / key, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    void overwrite(const std::string& key, const std::string& bytes) const {
        std::ofstream(store / key, std::ios::binary | std::ios::trunc) << bytes;
    }

private:
    static course::ServerOptions with_files(course::ServerOptions s, const std::filesystem::path& dir,
                                            const course::datasets::ZarrOptions& o) {
        course::datasets::write_zarr_store(dir / "store.zarr", o);
        s.files_dir = dir.string();
        return s;
    }
};

// The number of threads of this process now (from /proc; 0 where there is no /proc).
inline std::size_t thread_count() {
    std::size_t n = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) ++n;
    return n;
}

}  // namespace http_test
