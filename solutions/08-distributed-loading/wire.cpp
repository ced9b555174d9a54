#include "wire.hpp"

#include <cstring>

namespace course::loading::wire {

void Encoder::begin(Kind kind) {
    start_ = out_.size();
    out_.append(4, '\0');   // the size, written by end()
    out_ += char(kind);
}

void Encoder::end() {
    std::uint32_t size = std::uint32_t(out_.size() - start_ - 4);
    std::memcpy(out_.data() + start_, &size, 4);
}

void Encoder::number(std::uint64_t v) {
    while (v >= 0x80) {
        out_ += char((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out_ += char(v);
}

void Encoder::text(std::string_view s) {
    number(s.size());
    out_ += s;
}

void Encoder::paper(const Paper& p) {
    text(p.title);
    number(p.authors.size());
    for (auto& a : p.authors) text(a);
    signed_number(p.year);
    number(p.abstract_tokens.size());
    for (auto& sentence : p.abstract_tokens) {
        number(sentence.size());
        for (auto& token : sentence) text(token);
    }
    signed_number(p.loaded_by);
}

std::uint64_t Decoder::number() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in_.empty()) throw std::runtime_error("worker message cut short");
        auto byte = std::uint8_t(in_.front());
        in_.remove_prefix(1);
        v |= std::uint64_t(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return v;
    }
    throw std::runtime_error("bad number in a worker message");
}

std::string Decoder::text() {
    std::uint64_t n = number();
    if (n > in_.size()) throw std::runtime_error("worker message cut short");
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
}

Paper Decoder::paper() {
    Paper p;
    p.title = text();
    p.authors.resize(number());
    for (auto& a : p.authors) a = text();
    p.year = int(signed_number());
    p.abstract_tokens.resize(number());
    for (auto& sentence : p.abstract_tokens) {
        sentence.resize(number());
        for (auto& token : sentence) token = text();
    }
    p.loaded_by = long(signed_number());
    return p;
}

}  // namespace course::loading::wire
