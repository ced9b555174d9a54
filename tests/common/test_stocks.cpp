// The daily-stock generator: deterministic to the byte (it rewrites the checked-in
// sample exactly), every line a well-formed trading day, and the planted pair really
// the most correlated one, as its manifest says.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "course_catch.hpp"
#include "temp_dir.hpp"
#include "datasets/stocks.hpp"

namespace fs = std::filesystem;
namespace ds = course::datasets;

using course::testing::TempDir;

namespace {

const fs::path stock_sample_dir = fs::path(COURSE_SOURCE_DIR) / "datasets" / "samples" / "daily-stock";


std::string bytes_of(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the daily-stock generator rewrites the checked-in sample byte for byte") {
    TempDir out{"course-stocks-test"};
    auto manifest = ds::write_stocks({.tickers = 8, .days = 250, .seed = 1, .out = out.path});
    REQUIRE(manifest["files"].size() == 8u);
    for (auto& f : manifest["files"]) {
        auto name = f["file"].get<std::string>();
        INFO(name);
        CHECK(bytes_of(out.path / name) == bytes_of(stock_sample_dir / name));
    }
    CHECK(bytes_of(out.path / "MANIFEST.json") == bytes_of(stock_sample_dir / "MANIFEST.json"));
}

TEST_CASE("every daily-stock line is a well-formed trading day") {
    auto series = ds::generate_stock_series({.tickers = 5, .days = 300, .seed = 7});
    REQUIRE(series.size() == 5u);
    for (auto& s : series) {
        REQUIRE(s.bars.size() == 300u);
        for (std::size_t t = 0; t < s.bars.size(); ++t) {
            auto& bar = s.bars[t];
            auto line = nlohmann::json::parse(ds::daily_bar_json_line(bar));
            CHECK(line["timestamp"] == bar.timestamp);
            CHECK(line["close"].get<double>() == Approx(double(bar.close_cents) / 100));
            CHECK(bar.low_cents <= std::min(bar.open_cents, bar.close_cents));
            CHECK(bar.high_cents >= std::max(bar.open_cents, bar.close_cents));
            CHECK(bar.low_cents >= 1);
            CHECK(bar.volume > 0);
            if (t > 0) CHECK(s.bars[t - 1].timestamp < bar.timestamp);
        }
    }
    CHECK(series[0].bars.front().timestamp == "2010-01-04");
    CHECK(series[0].bars[5].timestamp == "2010-01-11");   // the weekend is skipped
}

TEST_CASE("the planted daily-stock pair is the most correlated pair") {
    TempDir out{"course-stocks-test"};
    auto manifest = ds::write_stocks({.tickers = 21, .days = 1000, .seed = 3, .out = out.path});
    CHECK(manifest["tickers"].front() == "aet");
    CHECK(manifest["tickers"].back() == "xom");
    // Brute force over the files as written, independently of the generator's own search.
    std::vector<std::string> names;
    std::vector<std::vector<double>> closes;
    for (auto& f : manifest["files"]) {
        names.push_back(f["ticker"].get<std::string>());
        std::ifstream in(out.path / f["file"].get<std::string>());
        closes.emplace_back();
        for (std::string line; std::getline(in, line);)
            closes.back().push_back(nlohmann::json::parse(line)["close"].get<double>());
        CHECK(closes.back().size() == 1000u);
    }
    double best = -2;
    std::string a, b;
    for (std::size_t i = 0; i < names.size(); ++i)
        for (std::size_t j = i + 1; j < names.size(); ++j)
            if (double r = ds::pearson_correlation(closes[i], closes[j]); r > best) {
                best = r;
                a = std::min(names[i], names[j]);
                b = std::max(names[i], names[j]);
            }
    CHECK(manifest["planted_pair"]["a"] == a);
    CHECK(manifest["planted_pair"]["b"] == b);
    CHECK(manifest["planted_pair"]["correlation"].get<double>() == Approx(best).epsilon(1e-9));
    CHECK(best >= 0.95);
    CHECK(best - manifest["runner_up"]["correlation"].get<double>() >= 0.02);
}

TEST_CASE("the stocks command rejects bad arguments") {
    std::string stocks = "stocks", tickers = "--tickers", one = "1", out = "--out", dir = "/nonexistent-unused";
    char* too_few[] = {stocks.data(), tickers.data(), one.data(), out.data(), dir.data()};
    CHECK(ds::stocks_main(5, too_few) == 2);
    char* no_out[] = {stocks.data()};
    CHECK(ds::stocks_main(1, no_out) == 2);
    CHECK_THROWS_AS(ds::generate_stock_series({.tickers = 2, .days = 2}), std::invalid_argument);
}
