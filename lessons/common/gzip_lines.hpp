// A fast line reader for gzip files (the corpus is gzip JSON lines, one paper a line).
//
//     file --read 128 KiB--> inflate --> 1 MiB line buffer --memchr '\n'--> string_view
//
// Decompression is the cost (zlib inflates ~340 MB/s on one core here); everything
// else is kept out of its way: no copy per line (next() hands out a view into the
// buffer), no per-byte loop (memchr finds line ends), no allocation after the buffer
// has grown to the longest line.
//
// Why raw inflate instead of gzopen/gzread: gzread throws away the output of the call
// in which it meets corrupt data (it returns -1), so the good lines just before a
// corruption would be lost. With inflate we know exactly how many bytes came out
// before the error, deliver every complete line among them, and only then throw.
// gzread also continues across concatenated gzip members by itself; raw inflate stops
// at the end of each member, so the reader calls inflateReset and goes on.
//
// What the reader does with each kind of input (datasets/README.md lists the fixtures):
//   - a missing or unreadable file: gzip_error from the constructor;
//   - an empty file (0 bytes): zero lines, no error;
//   - a file that is not gzip (the first two bytes are not 1f 8b): gzip_error from the
//     constructor (gzread would silently pass such a file through as plain text);
//   - truncated or corrupt data: every complete line decompressed before the problem
//     is delivered, then next() throws gzip_error naming the file and the line it was
//     reading (line_number() + 1);
//   - data after a gzip member that is not another gzip member: gzip_error;
//   - lines: split on '\n' only (a '\r' before it stays in the line); a last line
//     without '\n' is delivered; lines of any length (the buffer grows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace course {

// Thrown for every problem with a gzip file. what() reads
// "<path>: <problem> (reading line <line>)"; line() is 1-based, 0 when the file could
// not be opened at all.
class gzip_error : public std::runtime_error {
public:
    gzip_error(std::string path, std::size_t line, const std::string& problem);
    const std::string& path() const { return path_; }
    std::size_t line() const { return line_; }

private:
    std::string path_;
    std::size_t line_;
};

class GzipLineReader {
public:
    // Opens the file and checks the gzip magic bytes; throws gzip_error.
    explicit GzipLineReader(std::string path, std::size_t buffer_bytes = std::size_t(1) << 20);
    ~GzipLineReader();
    GzipLineReader(const GzipLineReader&) = delete;
    GzipLineReader& operator=(const GzipLineReader&) = delete;

    // The next line, without its '\n'. The view stays valid until the next call.
    // Returns false at the clean end of the file; throws gzip_error on bad data.
    bool next(std::string_view& line);

    std::size_t line_number() const { return lines_; }   // lines delivered so far
    std::uint64_t bytes_out() const { return bytes_out_; }  // uncompressed bytes so far
    const std::string& path() const { return path_; }

private:
    bool fill();  // decompresses more into the buffer; false at the clean end
    [[noreturn]] void fail(const std::string& problem) const;

    struct Inflater;
    std::string path_;
    std::unique_ptr<Inflater> z_;
    std::unique_ptr<char[]> buf_;
    std::size_t capacity_;
    std::size_t begin_ = 0;  // first byte of the line not yet delivered
    std::size_t end_ = 0;    // end of the decompressed bytes in buf_
    std::size_t lines_ = 0;
    std::uint64_t bytes_out_ = 0;
    bool done_ = false;      // the clean end of the file was reached
};

// Calls on_line(std::string_view line) for every line of a gzip file; returns the
// number of lines. Throws gzip_error after delivering the good lines.
template <class F>
std::size_t for_each_line(const std::string& path, F&& on_line) {
    GzipLineReader reader(path);
    std::string_view line;
    while (reader.next(line)) on_line(line);
    return reader.line_number();
}

}  // namespace course
