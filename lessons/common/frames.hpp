// Length-prefixed messages over a stream socket, for the loaders that send papers from
// worker processes to their parent (topic 08's solution and lesson 08's batched twin):
//
//   message = [u32 size of the rest][u8 kind][body]        (host byte order: one machine)
//
// What goes in a body is each loader's own wire format; this is only the framing.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include <sys/socket.h>

namespace course::frames {

// Sends every byte; MSG_NOSIGNAL turns "the other side is gone" into EPIPE instead of a
// SIGPIPE that would kill this process. False if the peer is gone.
inline bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(std::size_t(n));
    }
    return true;
}

// A complete message at the front of some received bytes: its kind and body, and how
// many bytes it took (size 0: the message is not complete yet).
struct Frame {
    char kind = 0;
    std::string_view body;
    std::size_t size = 0;
};

// Throws std::runtime_error for a message of size 0 (the size counts the kind byte).
inline Frame next_frame(std::string_view bytes) {
    if (bytes.size() < 5) return {};
    std::uint32_t size;
    std::memcpy(&size, bytes.data(), 4);
    if (size == 0) throw std::runtime_error("empty worker message");
    if (bytes.size() < 4 + std::size_t(size)) return {};
    return {bytes[4], bytes.substr(5, size - 1), 4 + std::size_t(size)};
}

}  // namespace course::frames
