#include "datasets/stocks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string_view>

namespace course::datasets {

namespace {

// The seed's 21 tickers (its data/daily-stock/*.json), in its sorted order.
constexpr std::string_view seed_tickers[] = {"aet", "afl", "aig", "al",  "amgn", "avy", "b",
                                             "bwa", "ge",  "hal", "hp",  "hpq",  "ibm", "jbl",
                                             "jpm", "luv", "met", "pcg", "tgt",  "usb", "xom"};

std::string ticker_name(unsigned i) {
    if (i < std::size(seed_tickers)) return std::string(seed_tickers[i]);
    char buf[16];
    std::snprintf(buf, sizeof buf, "t%03u", i);
    return buf;
}

// splitmix64: tiny, fast and specified bit for bit, so every platform draws the same
// numbers (std::*_distribution is not specified that tightly).
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [lo, hi], integers.
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        return lo + std::int64_t(next() % std::uint64_t(hi - lo + 1));
    }
    // About normal, mean 0, standard deviation `sd` (Irwin-Hall: 12 uniforms on
    // [0, 65536) have variance 65536^2). Integer arithmetic only.
    std::int64_t normal(std::int64_t sd) {
        std::int64_t sum = 0;
        for (int k = 0; k < 12; ++k) sum += std::int64_t(next() & 0xFFFF);
        return (sum - 6 * 65536) * sd / 65536;
    }

private:
    std::uint64_t state_;
};

constexpr std::int64_t micros_per_dollar = 1'000'000;   // prices are walked in micro-dollars
constexpr std::int64_t ppm = 1'000'000;                 // returns in parts per million

std::int64_t to_cents(std::int64_t micros) { return (micros + 5'000) / 10'000; }

// Applies a return given in ppm; a price never falls below one dollar (it bounces).
std::int64_t grow(std::int64_t micros, std::int64_t r_ppm) {
    micros += micros * r_ppm / ppm;
    if (micros < micros_per_dollar) micros = 2 * micros_per_dollar - micros;
    return micros;
}

// Civil date of a day number (days since 1970-01-01), integer-only (H. Hinnant's algorithm).
std::string date_of(std::int64_t days) {
    days += 719468;
    std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    std::int64_t doe = days - era * 146097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t y = yoe + era * 400;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", (long long)y, (long long)m, (long long)d);
    return buf;
}

// Weekdays from Monday 2010-01-04 (day 14613 since the epoch).
std::vector<std::string> trading_days(unsigned n) {
    std::vector<std::string> out;
    for (std::int64_t day = 14613; out.size() < n; ++day) {
        int weekday = int((day + 4) % 7);   // 0 = Sunday; 1970-01-01 was a Thursday
        if (weekday != 0 && weekday != 6) out.push_back(date_of(day));
    }
    return out;
}

// One ticker's bars from its closing prices (micro-dollars): open near the previous
// close, high and low around open and close, a volume around the ticker's own level.
std::vector<DailyBar> bars_from_closes(const std::vector<std::int64_t>& closes,
                                       const std::vector<std::string>& days, Random& rng) {
    std::vector<DailyBar> bars(closes.size());
    std::int64_t base_volume = rng.between(100'000, 10'000'000);
    for (std::size_t t = 0; t < closes.size(); ++t) {
        std::int64_t previous = t == 0 ? closes[0] : closes[t - 1];
        std::int64_t open = grow(previous, rng.normal(3'000));
        std::int64_t close = closes[t];
        std::int64_t high = std::max(open, close) * (ppm + rng.between(0, 10'000)) / ppm;
        std::int64_t low = std::min(open, close) * (ppm - rng.between(0, 10'000)) / ppm;
        DailyBar& bar = bars[t];
        bar.timestamp = days[t];
        bar.open_cents = to_cents(open);
        bar.close_cents = to_cents(close);
        bar.high_cents = std::max({to_cents(high), bar.open_cents, bar.close_cents});
        bar.low_cents = std::min({to_cents(low), bar.open_cents, bar.close_cents});
        bar.volume = base_volume * (600'000 + rng.between(0, 800'000)) / ppm;
    }
    return bars;
}

std::vector<double> closes_in_dollars(const StockSeries& s) {
    std::vector<double> out;
    out.reserve(s.bars.size());
    for (auto& bar : s.bars) out.push_back(double(bar.close_cents) / 100.0);
    return out;
}

struct Pair {
    std::size_t a = 0, b = 0;
    double r = -2;
};

// Every pair's correlation; returns the best and the second best.
std::pair<Pair, Pair> best_two_pairs(const std::vector<StockSeries>& all) {
    std::vector<std::vector<double>> closes;
    for (auto& s : all) closes.push_back(closes_in_dollars(s));
    Pair best, second;
    for (std::size_t i = 0; i < all.size(); ++i)
        for (std::size_t j = i + 1; j < all.size(); ++j) {
            Pair p{i, j, pearson_correlation(closes[i], closes[j])};
            if (p.r > best.r) {
                second = best;
                best = p;
            } else if (p.r > second.r) {
                second = p;
            }
        }
    return {best, second};
}

// One attempt at the whole data set. Tickers walk independently, except the planted
// follower, whose price is the leader's times a fixed ratio times (1 + a small
// mean-reverting noise): the two closing-price series correlate at about 0.99.
std::vector<StockSeries> attempt(const StocksOptions& o, std::uint64_t seed, std::size_t& leader,
                                 std::size_t& follower) {
    Random rng(seed);
    auto days = trading_days(o.days);
    leader = std::size_t(rng.between(0, o.tickers - 1));
    follower = std::size_t(rng.between(0, o.tickers - 2));
    if (follower >= leader) ++follower;

    std::vector<std::vector<std::int64_t>> closes(o.tickers);
    for (unsigned i = 0; i < o.tickers; ++i) {
        std::int64_t price = rng.between(10, 200) * micros_per_dollar;
        std::int64_t drift = rng.between(-300, 500);        // ppm per day
        std::int64_t volatility = rng.between(8'000, 25'000);
        for (unsigned t = 0; t < o.days; ++t) {
            if (t > 0) price = grow(price, drift + rng.normal(volatility));
            closes[i].push_back(price);
        }
    }
    // The follower: ratio in [0.5, 2], noise an AR(1) with 0.8 memory, ~0.3 % per day.
    std::int64_t ratio_ppm = rng.between(500'000, 2'000'000);
    std::int64_t noise = 0;
    for (unsigned t = 0; t < o.days; ++t) {
        noise = noise * 8 / 10 + rng.normal(3'000);
        closes[follower][t] = grow(closes[leader][t] * ratio_ppm / ppm, noise);
    }

    std::vector<StockSeries> out(o.tickers);
    for (unsigned i = 0; i < o.tickers; ++i) {
        out[i].ticker = ticker_name(i);
        out[i].bars = bars_from_closes(closes[i], days, rng);
    }
    return out;
}

void check(const StocksOptions& o) {
    if (o.tickers < 2) throw std::invalid_argument("--tickers must be at least 2 (the planted pair)");
    if (o.days < 3) throw std::invalid_argument("--days must be at least 3");
}

}  // namespace

double pearson_correlation(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size()) throw std::invalid_argument("pearson_correlation: series of different lengths");
    const double n = double(x.size());
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        mx += x[i];
        my += y[i];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0 || syy == 0) return 0.0;
    return sxy / std::sqrt(sxx * syy);
}

std::vector<StockSeries> generate_stock_series(const StocksOptions& o) {
    check(o);
    // Independent walks sometimes correlate strongly by chance. Redraw (deterministically:
    // the attempt number goes into the seed) until the planted pair is the clear winner.
    for (std::uint64_t n = 0;; ++n) {
        std::size_t leader = 0, follower = 0;
        auto series = attempt(o, o.seed * 0x100000001B3ull + n, leader, follower);
        auto [best, second] = best_two_pairs(series);
        bool planted_wins = std::min(best.a, best.b) == std::min(leader, follower) &&
                            std::max(best.a, best.b) == std::max(leader, follower);
        if (planted_wins && best.r >= 0.95 && best.r - second.r >= 0.02) return series;
    }
}

std::string daily_bar_json_line(const DailyBar& bar) {
    auto money = [](std::int64_t cents) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
        return std::string(buf);
    };
    return "{\"timestamp\":\"" + bar.timestamp + "\",\"open\":" + money(bar.open_cents) +
           ",\"high\":" + money(bar.high_cents) + ",\"low\":" + money(bar.low_cents) +
           ",\"close\":" + money(bar.close_cents) + ",\"volume\":" + std::to_string(bar.volume) + "}";
}

nlohmann::json write_stocks(const StocksOptions& o) {
    auto series = generate_stock_series(o);
    std::filesystem::create_directories(o.out);

    nlohmann::json files = nlohmann::json::array(), tickers = nlohmann::json::array();
    for (auto& s : series) {
        std::string name = s.ticker + ".json";
        std::string text;
        for (auto& bar : s.bars) text += daily_bar_json_line(bar) + "\n";
        std::ofstream out(o.out / name, std::ios::binary);
        out << text;
        if (!out) throw std::runtime_error("stocks: cannot write " + (o.out / name).string());
        tickers.push_back(s.ticker);
        files.push_back({{"ticker", s.ticker}, {"file", name}, {"rows", s.bars.size()}, {"bytes", text.size()}});
    }

    auto [best, second] = best_two_pairs(series);
    auto pair_json = [&](const Pair& p) {
        auto a = series[p.a].ticker, b = series[p.b].ticker;
        if (b < a) std::swap(a, b);
        // Rounded to 12 digits so that the manifest is the same text everywhere.
        return nlohmann::json{{"a", a}, {"b", b}, {"correlation", std::round(p.r * 1e12) / 1e12}};
    };
    nlohmann::json manifest = {
        {"dataset", "daily-stock"},
        {"generator", "course-datasets stocks"},
        {"seed", o.seed},
        {"days", o.days},
        {"first_day", series[0].bars.front().timestamp},
        {"last_day", series[0].bars.back().timestamp},
        {"fields", {"timestamp", "open", "high", "low", "close", "volume"}},
        {"tickers", tickers},
        {"files", files},
        {"planted_pair", pair_json(best)},
        {"runner_up", pair_json(second)},
    };
    std::ofstream out(o.out / "MANIFEST.json", std::ios::binary);
    out << manifest.dump(2) << "\n";
    if (!out) throw std::runtime_error("stocks: cannot write " + (o.out / "MANIFEST.json").string());
    return manifest;
}

int stocks_main(int argc, char** argv) {
    const char* usage =
        "usage: course-datasets stocks [--tickers N] [--days N] [--seed S] --out DIR\n"
        "  one JSON-lines file per ticker (<ticker>.json) and MANIFEST.json with the planted pair\n"
        "  defaults: --tickers 20 --days 1000 --seed 1\n";
    StocksOptions o;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                std::cout << usage;
                return 0;
            }
            if (i + 1 >= argc) throw std::invalid_argument("missing value after " + std::string(arg));
            std::string value = argv[++i];
            if (arg == "--tickers")
                o.tickers = unsigned(std::stoul(value));
            else if (arg == "--days")
                o.days = unsigned(std::stoul(value));
            else if (arg == "--seed")
                o.seed = std::stoull(value);
            else if (arg == "--out")
                o.out = value;
            else
                throw std::invalid_argument("unknown option " + std::string(arg));
        }
        if (o.out.empty()) throw std::invalid_argument("--out DIR is required");
        auto manifest = write_stocks(o);
        auto& p = manifest["planted_pair"];
        std::cout << "wrote " << o.tickers << " tickers x " << o.days << " days to " << o.out.string()
                  << "; planted pair " << p["a"].get<std::string>() << " ~ " << p["b"].get<std::string>()
                  << " (r = " << p["correlation"].get<double>() << ")\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "course-datasets stocks: " << e.what() << "\n" << usage;
        return 2;
    }
}

}  // namespace course::datasets
