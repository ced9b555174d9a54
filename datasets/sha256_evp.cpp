// SHA-256 through OpenSSL 3's EVP API (the API is in sha256.hpp).
#include "datasets/sha256.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <stdexcept>

namespace course::datasets {
namespace {

// Fetched once: looking the algorithm up by name on every hash (or calling
// EVP_sha256(), which does the same lookup inside EVP_DigestInit) costs hundreds of
// nanoseconds and takes a lock shared by every thread. An EVP_MD is safe to share.
const EVP_MD* sha256_algorithm() {
    static const std::unique_ptr<EVP_MD, void (*)(EVP_MD*)> md(EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                               &EVP_MD_free);
    if (!md) throw std::runtime_error("OpenSSL: SHA256 is not available (EVP_MD_fetch failed)");
    return md.get();
}

std::string to_hex(const unsigned char* bytes, unsigned size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * size);
    for (unsigned i = 0; i < size; ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 0xf];
    }
    return out;
}

}  // namespace

void Sha256::FreeContext::operator()(evp_md_ctx_st* context) const { EVP_MD_CTX_free(context); }

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), sha256_algorithm(), nullptr) != 1)
        throw std::runtime_error("OpenSSL: cannot start a SHA-256 digest");
}

void Sha256::update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(context_.get(), data, size) != 1) throw std::runtime_error("OpenSSL: SHA-256 update failed");
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest, &size) != 1) throw std::runtime_error("OpenSSL: SHA-256 final failed");
    return to_hex(digest, size);
}

std::string sha256_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, sha256_algorithm(), nullptr) != 1)
        throw std::runtime_error("OpenSSL: SHA-256 failed");
    return to_hex(digest, size);
}

std::string sha256_file(const std::filesystem::path& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) throw std::runtime_error(path.string() + ": cannot open for sha256");
    Sha256 hash;
    std::unique_ptr<char[]> buf(new char[1 << 16]);
    while (std::size_t n = std::fread(buf.get(), 1, 1 << 16, file.get())) hash.update(buf.get(), n);
    if (std::ferror(file.get())) throw std::runtime_error(path.string() + ": read error for sha256");
    return hash.hex();
}

}  // namespace course::datasets
