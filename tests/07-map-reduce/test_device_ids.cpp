// Tests of the device ids: the original material's sha1(str(uuid4())), made reproducible
// from (seed, index). Golden values were checked with Python's hashlib and uuid modules.
#include <openssl/evp.h>

#include <array>
#include <numeric>
#include <string>

#include "course_catch.hpp"
#include "mapreduce.hpp"

using namespace course::mapreduce;

namespace {

std::string sha1_hex(const std::string& text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr) == 1);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

bool lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

// Rule: "uuid4_text is a version-4 UUID by RFC 4122: 8-4-4-4-12 lowercase hex digits, the
// version digit 4, the variant digit one of 8 9 a b."
TEST_CASE("uuid4_text has the layout of a random version 4 uuid") {
    for (std::uint64_t index : {0ull, 1ull, 2ull, 999ull, 123456789ull}) {
        auto text = uuid4_text(3, index);
        INFO("uuid4_text(3, " << index << ") = " << text);
        REQUIRE(text.size() == 36);
        for (std::size_t i = 0; i < 36; ++i) {
            if (i == 8 || i == 13 || i == 18 || i == 23) CHECK(text[i] == '-');
            else CHECK(lower_hex(text[i]));
        }
        CHECK(text[14] == '4');
        CHECK(std::string("89ab").find(text[19]) != std::string::npos);
    }
}

// Rule: "The 16 random bytes of id `index` come from (seed, index) alone: the same pair
// always gives the same UUID, and different pairs different ones." And the exact bytes:
// mix(seed ^ 0x5eed5eed5eed5eed) + 2 × index, then mix of that and of it + 1, little-endian.
TEST_CASE("uuid4_text is fixed by seed and index and matches the golden values") {
    CHECK(uuid4_text(7, 0) == "afafbaaf-0317-427d-9804-76cbed5b33a5");
    CHECK(uuid4_text(7, 123456) == "43a52139-7332-45aa-ab2c-ced44c47b967");
    CHECK(uuid4_text(7, 5) == uuid4_text(7, 5));
    CHECK(uuid4_text(7, 5) != uuid4_text(7, 6));
    CHECK(uuid4_text(7, 5) != uuid4_text(8, 5));
}

// Rule: "device_id is the lowercase hex SHA-1 of the 36 characters of uuid4_text."
TEST_CASE("device_id is the hex sha1 of the uuid text") {
    CHECK(device_id(7, 0) == "db6350c170d737abd7678d3dd0da4a17ea54c26b");
    CHECK(device_id(7, 123456) == "97db01169d9cb66785eef2e2a0de8959892458fc");
    CHECK(device_id(1, 11999999) == "5fa2d75f4894bd6f4012c35ea8016f5187fdbef5");
    for (std::uint64_t index : {3ull, 77ull, 4096ull}) {
        INFO("index " << index);
        CHECK(device_id(5, index) == sha1_hex(uuid4_text(5, index)));
    }
}

// Rule: "device_id_histogram counts the ids 0 .. n-1 by their first hex digit."
TEST_CASE("the histogram counts the first hex digit of each id") {
    std::array<std::uint64_t, 16> expected{};
    for (std::uint64_t i = 0; i < 3000; ++i) {
        char first = device_id(11, i)[0];
        ++expected[std::size_t(first <= '9' ? first - '0' : first - 'a' + 10)];
    }
    CHECK(device_id_histogram(3000, 1, 11) == expected);
}

// Rule: "The same for any `workers`": each id's randomness comes from (seed, index), and
// every id is counted exactly once whatever the split (n not a multiple of workers).
TEST_CASE("the histogram is the same on 1 2 3 and 4 workers and sums to n") {
    auto serial = device_id_histogram(10007, 1, 42);
    CHECK(std::accumulate(serial.begin(), serial.end(), std::uint64_t(0)) == 10007);
    for (unsigned workers : {2u, 3u, 4u}) {
        INFO(workers << " workers");
        CHECK(device_id_histogram(10007, workers, 42) == serial);
    }
    CHECK(device_id_histogram(0, 2, 42) == std::array<std::uint64_t, 16>{});
    CHECK(device_id_histogram(3, 8, 42) == device_id_histogram(3, 1, 42));  // more workers than ids
}

// Rule: the original material's observation: SHA-1 spreads the ids evenly, each first
// digit about n/16. 1.2 million ids: every bucket within 1 % of 75,000.
TEST_CASE("1.2 million ids fill the 16 buckets evenly") {
    auto counts = device_id_histogram(1'200'000, 2, 1);
    for (std::size_t d = 0; d < 16; ++d) {
        INFO("digit " << "0123456789abcdef"[d] << ": " << counts[d] << " ids");
        CHECK(counts[d] > 74'250);
        CHECK(counts[d] < 75'750);
    }
}

// Rule: "0 workers throw std::invalid_argument."
TEST_CASE("zero workers are refused") { CHECK_THROWS_AS(device_id_histogram(10, 0, 1), std::invalid_argument); }
