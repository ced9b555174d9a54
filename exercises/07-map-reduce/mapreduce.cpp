// Topic 07: your device ids and word count. See README.md in this folder.
//
// SHA-1 comes from OpenSSL's libcrypto (`man EVP_DigestInit`); the corpus reader and
// parse_paper from topic 08 (common/gzip_lines.hpp, loading.hpp).
#include "mapreduce.hpp"

#include <openssl/evp.h>

#include "common/gzip_lines.hpp"
#include "loading.hpp"

namespace course::mapreduce {

std::string uuid4_text(std::uint64_t seed, std::uint64_t index) {
    throw course::not_implemented("uuid4_text");
}

std::string device_id(std::uint64_t seed, std::uint64_t index) {
    throw course::not_implemented("device_id");
}

std::array<std::uint64_t, 16> device_id_histogram(std::uint64_t n, unsigned workers, std::uint64_t seed) {
    throw course::not_implemented("device_id_histogram");
}

std::vector<std::pair<std::string, std::uint64_t>> word_count(const std::vector<std::filesystem::path>& files,
                                                              const ProcessOptions& options) {
    throw course::not_implemented("word_count");
}

}  // namespace course::mapreduce
