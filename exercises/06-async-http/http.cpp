// Topic 06: your fetch_all, ChunkStore and fetch_with_retry. See README.md in this folder.
//
// libcurl's documentation is installed with libcurl4-openssl-dev: `man libcurl-multi`
// (the multi interface), `man curl_multi_poll`, `man curl_easy_setopt`,
// `man CURLINFO_RETRY_AFTER`. Link and headers are set up already: #include <curl/curl.h>.
#include "http.hpp"

#include <curl/curl.h>
#include <zlib.h>

#include "common/not_implemented.hpp"

namespace course::http {

std::vector<Result> fetch_all(const std::vector<std::string>& urls, std::size_t max_concurrency) {
    throw course::not_implemented("fetch_all");
}

// Everything your store needs: its I/O thread, its multi handle, a queue of work...
struct ChunkStore::Impl {
    std::string base_url;
    StoreOptions options;
};

ChunkStore::ChunkStore(std::string base_url, StoreOptions options)
    : impl_(std::make_unique<Impl>(Impl{std::move(base_url), options})) {}

ChunkStore::~ChunkStore() = default;

const std::string& ChunkStore::base_url() const { return impl_->base_url; }

std::map<std::string, std::string> ChunkStore::getitems(const std::vector<std::string>& keys) {
    throw course::not_implemented("ChunkStore::getitems");
}

std::vector<double> ChunkStore::read_array() {
    throw course::not_implemented("ChunkStore::read_array");
}

Result fetch_with_retry(const std::string& url, const RetryPolicy& policy) {
    throw course::not_implemented("fetch_with_retry");
}

}  // namespace course::http
