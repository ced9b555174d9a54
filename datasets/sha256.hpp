// SHA-256 (FIPS 180-4), small and dependency-free: the corpus manifest records one
// per file so tests and lessons can check that their input is exactly the expected one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace course::datasets {

class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    void update(std::string_view text) { update(text.data(), text.size()); }
    std::string hex();  // finishes the hash; call once

private:
    void block(const unsigned char* p);
    std::array<std::uint32_t, 8> h_;
    unsigned char pending_[64];
    std::size_t pending_size_ = 0;
    std::uint64_t total_bytes_ = 0;
};

std::string sha256_hex(std::string_view data);
std::string sha256_file(const std::filesystem::path& path);  // throws std::runtime_error

}  // namespace course::datasets
