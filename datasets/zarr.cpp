// The Zarr v2 store of topic 06: see zarr.hpp for the layout.
#include "datasets/zarr.hpp"

#include <zlib.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "datasets/corpus.hpp"  // datasets_dir()

namespace course::datasets {

namespace fs = std::filesystem;

namespace {

void check(const ZarrOptions& o) {
    if (o.values == 0 || o.chunk == 0) throw std::invalid_argument("zarr store: values and chunk must be at least 1");
    if (o.level < 0 || o.level > 9) throw std::invalid_argument("zarr store: zlib level must be 0..9");
}

void write_file(const fs::path& path, const std::string& bytes) {
    fs::path temporary = path;
    temporary += ".partial";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        if (!out) throw std::runtime_error("zarr store: cannot write " + temporary.string());
    }
    fs::rename(temporary, path);
}

}  // namespace

std::size_t zarr_chunk_count(const ZarrOptions& options) {
    check(options);
    return (options.values + options.chunk - 1) / options.chunk;
}

std::string zarr_metadata(const ZarrOptions& options) {
    check(options);
    nlohmann::json meta = {{"zarr_format", 2},
                           {"shape", {options.values}},
                           {"chunks", {options.chunk}},
                           {"dtype", "<f8"},
                           {"compressor", {{"id", "zlib"}, {"level", options.level}}},
                           {"fill_value", 0.0},
                           {"order", "C"},
                           {"filters", nullptr}};
    return meta.dump(4) + "\n";  // nlohmann keeps object keys sorted, as zarr writes them
}

std::string zarr_chunk(const ZarrOptions& options, std::size_t index) {
    if (index >= zarr_chunk_count(options)) throw std::out_of_range("zarr store: no chunk " + std::to_string(index));
    // "<f8": IEEE 754 binary64, little-endian, whatever this machine's byte order is.
    std::string raw(options.chunk * 8, '\0');
    for (std::size_t k = 0; k < options.chunk; ++k) {
        std::size_t i = index * options.chunk + k;
        double value = i < options.values ? double(i) : 0.0;  // past the end: fill_value
        auto bits = std::bit_cast<std::uint64_t>(value);
        for (int b = 0; b < 8; ++b) raw[k * 8 + std::size_t(b)] = char(bits >> (8 * b));
    }
    uLongf size = compressBound(uLong(raw.size()));
    std::string packed(size, '\0');
    int rc = compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                       uLong(raw.size()), options.level);
    if (rc != Z_OK) throw std::runtime_error("zarr store: zlib compress2 failed with " + std::to_string(rc));
    packed.resize(size);
    return packed;
}

std::vector<std::string> write_zarr_store(const fs::path& dir, const ZarrOptions& options) {
    std::size_t n = zarr_chunk_count(options);
    fs::create_directories(dir);
    std::vector<std::string> keys;
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        keys.push_back(std::to_string(i));
        write_file(dir / keys.back(), zarr_chunk(options, i));
    }
    write_file(dir / ".zarray", zarr_metadata(options));  // last: its presence means complete
    return keys;
}

fs::path ensure_zarr_store(const fs::path& dir, const ZarrOptions& options) {
    std::ifstream in(dir / ".zarray", std::ios::binary);
    std::string existing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool complete = in && existing == zarr_metadata(options);
    for (std::size_t i = 0; complete && i < zarr_chunk_count(options); ++i)
        complete = fs::is_regular_file(dir / std::to_string(i));
    if (!complete) write_zarr_store(dir, options);
    return dir;
}

fs::path default_zarr_dir(const ZarrOptions& options) {
    ZarrOptions standard;
    if (options.values == standard.values && options.chunk == standard.chunk && options.level == standard.level)
        return datasets_dir() / "cache" / "arange.zarr";
    return datasets_dir() / "cache" /
           ("arange-" + std::to_string(options.values) + "-" + std::to_string(options.chunk) + "-l" +
            std::to_string(options.level) + ".zarr");
}

}  // namespace course::datasets
