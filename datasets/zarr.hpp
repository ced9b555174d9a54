// A Zarr v2 directory store of a 1-D float64 array: the chunked array of the original
// material's zarr case (topic 06), written exactly as the Zarr v2 specification says.
//
//   arange.zarr/
//     .zarray      {"zarr_format": 2, "shape": [6443], "chunks": [5], "dtype": "<f8",
//                   "compressor": {"id": "zlib", "level": 1}, "fill_value": 0.0,
//                   "order": "C", "filters": null}
//     0            zlib stream of 5 little-endian float64: 0, 1, 2, 3, 4
//     1            5 .. 9
//     ...
//     1288         6440, 6441, 6442 and two fill values (every chunk is stored whole,
//                  also the last one, as the specification requires)
//
// The real `zarr` Python package reads it (zarr.open("arange.zarr")[:] == arange(6443)).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace course::datasets {

struct ZarrOptions {
    std::size_t values = 6443;  // shape[0]: the array holds 0, 1, ..., values - 1
    std::size_t chunk = 5;      // chunks[0]: values per chunk
    int level = 1;              // zlib level, as in the compressor's JSON
};

// The number of chunks: ceil(values / chunk).
std::size_t zarr_chunk_count(const ZarrOptions& options);

// The bytes of `.zarray` for these options (pretty JSON, keys sorted, as zarr writes it).
std::string zarr_metadata(const ZarrOptions& options);

// The stored bytes of chunk `index`: zlib (RFC 1950) of chunk × 8 little-endian float64.
std::string zarr_chunk(const ZarrOptions& options, std::size_t index);

// Writes the store into `dir` (created; files written to a temporary name and renamed,
// so a reader never sees half a chunk). Returns the chunk keys, "0" ... "n-1".
std::vector<std::string> write_zarr_store(const std::filesystem::path& dir, const ZarrOptions& options = {});

// The store in `dir`, generated unless its .zarray already says these options (and every
// chunk file is there). Returns dir.
std::filesystem::path ensure_zarr_store(const std::filesystem::path& dir, const ZarrOptions& options = {});

// <repo>/datasets/cache/arange.zarr (the default store) and, for other options,
// <repo>/datasets/cache/arange-<values>-<chunk>.zarr.
std::filesystem::path default_zarr_dir(const ZarrOptions& options = {});

}  // namespace course::datasets
