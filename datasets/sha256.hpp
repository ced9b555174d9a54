// SHA-256 of files and strings, computed by OpenSSL's libcrypto (EVP digests): the
// corpus manifest records one per file so tests and lessons can check that their input
// is exactly the expected one. This header does not include OpenSSL's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace course::datasets {

// An incremental SHA-256: update() with the bytes in any pieces, then hex() once.
// One object per thread (each owns its EVP_MD_CTX; the digest is fetched once per
// process and shared).
class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    std::string hex();  // finishes the hash; call once

private:
    struct FreeContext {
        void operator()(evp_md_ctx_st* context) const;
    };
    std::unique_ptr<evp_md_ctx_st, FreeContext> context_;
};

std::string sha256_hex(std::string_view data);
std::string sha256_file(const std::filesystem::path& path);  // throws std::runtime_error

}  // namespace course::datasets
