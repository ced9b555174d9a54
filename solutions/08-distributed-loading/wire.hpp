// Inside the solution: how a Paper and the worker protocol travel over a socket.
//
//   message = [u32 size of the rest][u8 kind][body]        (host byte order: same machine)
//   numbers = LEB128 varints; strings = varint length + bytes
//
//   parent -> worker   'L' load:   skip, path       ("load path, after its first `skip` papers")
//   worker -> parent   'P' paper:  title, authors, year, sentences of tokens, pid
//                      'D' done:   papers seen, start ns, end ns
//                      'F' failed: papers seen, start ns, end ns, line, message
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/frames.hpp"
#include "loading.hpp"

namespace course::loading::wire {

enum Kind : char { load = 'L', paper = 'P', done = 'D', failed = 'F' };

// Appends messages to a byte string.
class Encoder {
public:
    explicit Encoder(std::string& out) : out_(out) {}
    void begin(Kind kind);   // starts a message; end() fills in its size
    void end();
    void number(std::uint64_t v);
    void signed_number(std::int64_t v) { number((std::uint64_t(v) << 1) ^ std::uint64_t(v >> 63)); }
    void text(std::string_view s);
    void paper(const Paper& p);

private:
    std::string& out_;
    std::size_t start_ = 0;
};

// Reads one message body; throws std::runtime_error on a short or bad message.
class Decoder {
public:
    explicit Decoder(std::string_view body) : in_(body) {}
    std::uint64_t number();
    std::int64_t signed_number() {
        std::uint64_t v = number();
        return std::int64_t(v >> 1) ^ -std::int64_t(v & 1);
    }
    std::string text();
    Paper paper();

private:
    std::string_view in_;
};

// Whole messages out of received bytes: lessons/common/frames.hpp (the framing above).
using course::frames::Frame;
using course::frames::next_frame;

}  // namespace course::loading::wire
