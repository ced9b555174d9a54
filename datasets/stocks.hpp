// The daily-stock data of seed 003, generated: one JSON-lines file per ticker, one
// line per trading day, prices as random walks, plus one planted pair of tickers whose
// closing prices move together, so Exercise 7.3 ("the most correlated pair") has a
// known answer. Everything is integer arithmetic on a fixed PRNG (no
// std::*_distribution, no libm), so the same arguments give byte-identical files on
// every platform and standard library.
//
//   course-datasets stocks --tickers 20 --days 1000 --seed 1 --out DIR
//
// writes DIR/aet.json, DIR/afl.json, ... (the seed's ticker names, lower case, then
// t021.json, t022.json, ... past the seed's 21) and DIR/MANIFEST.json. datasets/README.md
// documents the schema.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace course::datasets {

struct StocksOptions {
    unsigned tickers = 20;        // number of files (at least 2: the planted pair)
    unsigned days = 1000;         // trading days (weekdays from 2010-01-04), at least 3
    std::uint64_t seed = 1;
    std::filesystem::path out;    // created if missing
};

// One trading day of one ticker. Prices are in cents so that they are exact.
struct DailyBar {
    std::string timestamp;        // "2010-01-04"
    std::int64_t open_cents = 0, high_cents = 0, low_cents = 0, close_cents = 0;
    std::int64_t volume = 0;
};

struct StockSeries {
    std::string ticker;
    std::vector<DailyBar> bars;
};

// The generated series, without touching the disk.
std::vector<StockSeries> generate_stock_series(const StocksOptions& options);

// The line written for one bar: {"timestamp":"2010-01-04","open":31.52,...}.
std::string daily_bar_json_line(const DailyBar& bar);

// Pearson correlation of two equally long series (0 when one of them is constant).
double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y);

// Writes the files and MANIFEST.json under options.out; returns the manifest.
nlohmann::json write_stocks(const StocksOptions& options);

// The `stocks` sub-command: argv[0] is "stocks", then --tickers/--days/--seed/--out.
// Prints what it wrote; returns the process exit code.
int stocks_main(int argc, char** argv);

}  // namespace course::datasets
