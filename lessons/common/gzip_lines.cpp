#include "common/gzip_lines.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace course {

gzip_error::gzip_error(std::string path, std::size_t line, const std::string& problem)
    : std::runtime_error(path + ": " + problem +
                         (line ? " (reading line " + std::to_string(line) + ")" : std::string())),
      path_(std::move(path)),
      line_(line) {}

// The compressed side: the file descriptor, a 128 KiB input buffer and zlib's state.
struct GzipLineReader::Inflater {
    static constexpr std::size_t in_size = 128 * 1024;

    int fd = -1;
    z_stream strm{};
    bool initialised = false;
    std::unique_ptr<unsigned char[]> in{new unsigned char[in_size]};
    bool in_eof = false;
    bool between_members = false;  // a member ended; the next must start with 1f 8b
    std::string error;             // a problem met; reported once the good lines are out

    ~Inflater() {
        if (initialised) inflateEnd(&strm);
        if (fd >= 0) ::close(fd);
    }

    // Reads until at least `want` input bytes are waiting (or the file ends); returns
    // how many are waiting.
    std::size_t have_input(std::size_t want) {
        while (strm.avail_in < want && !in_eof) {
            if (strm.avail_in > 0 && strm.next_in != in.get())
                std::memmove(in.get(), strm.next_in, strm.avail_in);
            strm.next_in = in.get();
            ssize_t n = ::read(fd, in.get() + strm.avail_in, in_size - strm.avail_in);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                error = std::string("read failed: ") + std::strerror(errno);
                in_eof = true;
            } else if (n == 0) {
                in_eof = true;
            } else {
                strm.avail_in += unsigned(n);
            }
        }
        return strm.avail_in;
    }

    bool at_gzip_magic() const {
        return strm.avail_in >= 2 && strm.next_in[0] == 0x1f && strm.next_in[1] == 0x8b;
    }
};

GzipLineReader::GzipLineReader(std::string path, std::size_t buffer_bytes)
    : path_(std::move(path)),
      z_(std::make_unique<Inflater>()),
      buf_(new char[buffer_bytes < 64 ? 64 : buffer_bytes]),
      capacity_(buffer_bytes < 64 ? 64 : buffer_bytes) {
    auto& z = *z_;
    z.fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (z.fd < 0) throw gzip_error(path_, 0, std::string("cannot open: ") + std::strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(z.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    // 16 + MAX_WBITS: gzip wrapper only (header and CRC-32 checked), 32 KiB window.
    if (inflateInit2(&z.strm, 16 + MAX_WBITS) != Z_OK) throw gzip_error(path_, 0, "zlib inflateInit2 failed");
    z.initialised = true;

    std::size_t avail = z.have_input(2);
    if (!z.error.empty()) throw gzip_error(path_, 0, z.error);  // e.g. a directory
    if (avail == 0) {
        done_ = true;  // an empty file: zero lines, not an error
        return;
    }
    if (!z.at_gzip_magic())
        throw gzip_error(path_, 1, "not a gzip file (it does not start with the gzip magic bytes 1f 8b)");
}

GzipLineReader::~GzipLineReader() = default;

void GzipLineReader::fail(const std::string& problem) const { throw gzip_error(path_, lines_ + 1, problem); }

bool GzipLineReader::fill() {
    auto& z = *z_;
    for (;;) {
        // Nothing new came out since the problem was met: now it is reported.
        if (!z.error.empty()) fail(z.error);

        if (z.between_members) {
            // gzip allows several members one after the other (cat a.gz b.gz); inflate
            // stops at the end of each one, so start it again on the next.
            std::size_t avail = z.have_input(2);
            if (!z.error.empty()) continue;
            if (avail == 0) return false;  // the clean end of the file
            if (!z.at_gzip_magic()) {
                z.error = "data after the end of a gzip member is not another gzip member";
                continue;
            }
            inflateReset(&z.strm);
            z.between_members = false;
        }
        if (z.strm.avail_in == 0) z.have_input(1);

        std::size_t room = capacity_ - end_;
        z.strm.next_out = reinterpret_cast<unsigned char*>(buf_.get() + end_);
        z.strm.avail_out = unsigned(room);
        int ret = inflate(&z.strm, Z_NO_FLUSH);
        std::size_t produced = room - z.strm.avail_out;
        end_ += produced;
        bytes_out_ += produced;

        switch (ret) {
            case Z_OK:
                break;
            case Z_STREAM_END:
                z.between_members = true;
                break;
            case Z_BUF_ERROR:  // no progress possible: fine unless the input is over
                if (z.strm.avail_in == 0 && z.in_eof && z.error.empty())
                    z.error = "truncated gzip data: the file ends inside a gzip member";
                break;
            default:  // Z_DATA_ERROR (bad code, bad CRC...), Z_NEED_DICT, Z_MEM_ERROR
                z.error = std::string("corrupt gzip data: ") + (z.strm.msg ? z.strm.msg : "zlib error " + std::to_string(ret));
                break;
        }
        if (produced > 0) return true;  // deliver what came out before any problem
    }
}

bool GzipLineReader::next(std::string_view& line) {
    std::size_t scanned = begin_;  // bytes before this hold no '\n'
    for (;;) {
        if (scanned < end_) {
            if (auto* nl = static_cast<char*>(std::memchr(buf_.get() + scanned, '\n', end_ - scanned))) {
                std::size_t stop = std::size_t(nl - buf_.get());
                line = std::string_view(buf_.get() + begin_, stop - begin_);
                begin_ = stop + 1;
                ++lines_;
                return true;
            }
            scanned = end_;
        }
        if (done_) {
            if (begin_ == end_) return false;
            line = std::string_view(buf_.get() + begin_, end_ - begin_);  // no final '\n'
            begin_ = end_;
            ++lines_;
            return true;
        }
        // Keep the unfinished line, moved to the front, and decompress after it.
        if (begin_ > 0) {
            std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            scanned -= begin_;
            begin_ = 0;
        }
        if (end_ == capacity_) {  // one line longer than the buffer: grow it
            std::unique_ptr<char[]> bigger(new char[capacity_ * 2]);
            std::memcpy(bigger.get(), buf_.get(), end_);
            buf_ = std::move(bigger);
            capacity_ *= 2;
        }
        if (!fill()) done_ = true;
    }
}

}  // namespace course
