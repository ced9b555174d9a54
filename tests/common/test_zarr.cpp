// Tests of the Zarr v2 store writer (datasets/zarr.hpp): the layout the Zarr v2
// specification gives, checked field by field and byte by byte.
#include <zlib.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "course_catch.hpp"
#include "datasets/zarr.hpp"
#include "temp_dir.hpp"

using namespace course::datasets;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The doubles of one stored chunk: zlib-decompressed, little-endian float64.
std::vector<double> decode(const std::string& packed, std::size_t values) {
    std::string raw(values * 8, '\0');
    uLongf size = uLongf(raw.size());
    REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &size, reinterpret_cast<const Bytef*>(packed.data()),
                       uLong(packed.size())) == Z_OK);
    REQUIRE(size == raw.size());
    std::vector<double> out(values);
    for (std::size_t k = 0; k < values; ++k) {
        std::uint64_t bits = 0;
        for (int b = 7; b >= 0; --b) bits = (bits << 8) | std::uint8_t(raw[k * 8 + std::size_t(b)]);
        out[k] = std::bit_cast<double>(bits);
    }
    return out;
}

}  // namespace

TEST_CASE("the zarr store's metadata has every field of the zarr v2 specification") {
    auto meta = nlohmann::json::parse(zarr_metadata({}));
    CHECK(meta["zarr_format"] == 2);
    CHECK(meta["shape"] == nlohmann::json::array({6443}));
    CHECK(meta["chunks"] == nlohmann::json::array({5}));
    CHECK(meta["dtype"] == "<f8");
    CHECK(meta["compressor"] == nlohmann::json({{"id", "zlib"}, {"level", 1}}));
    CHECK(meta["fill_value"] == 0.0);
    CHECK(meta["order"] == "C");
    CHECK(meta["filters"].is_null());
    CHECK(meta.size() == 8);
    CHECK(zarr_chunk_count({}) == 1289);
}

TEST_CASE("the zarr store holds 0 to n-1 in zlib chunks and pads the last chunk with the fill value") {
    course::testing::TempDir dir("course-zarr");
    ZarrOptions options{.values = 23, .chunk = 5};
    auto keys = write_zarr_store(dir.path / "a.zarr", options);
    REQUIRE(keys == std::vector<std::string>{"0", "1", "2", "3", "4"});
    CHECK(read_file(dir.path / "a.zarr" / ".zarray") == zarr_metadata(options));
    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto values = decode(read_file(dir.path / "a.zarr" / keys[i]), 5);
        for (std::size_t k = 0; k < 5; ++k) {
            std::size_t index = i * 5 + k;
            INFO("chunk " << i << " value " << k);
            CHECK(values[k] == (index < 23 ? double(index) : 0.0));
        }
    }
    CHECK_FALSE(std::filesystem::exists(dir.path / "a.zarr" / "5"));
}

TEST_CASE("ensure_zarr_store writes a store once and rewrites an incomplete one") {
    course::testing::TempDir dir("course-zarr");
    auto store = dir.path / "a.zarr";
    ensure_zarr_store(store, {.values = 10, .chunk = 5});
    auto written = std::filesystem::last_write_time(store / ".zarray");
    ensure_zarr_store(store, {.values = 10, .chunk = 5});
    CHECK(std::filesystem::last_write_time(store / ".zarray") == written);
    std::filesystem::remove(store / "1");
    ensure_zarr_store(store, {.values = 10, .chunk = 5});
    CHECK(std::filesystem::exists(store / "1"));
    CHECK(default_zarr_dir().filename() == "arange.zarr");
    CHECK(default_zarr_dir({.values = 10, .chunk = 5}).filename() == "arange-10-5-l1.zarr");
}
