#include "common/results.hpp"

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <ostream>
#include <thread>

namespace course {

nlohmann::json Measurement::to_json() const {
    nlohmann::json j = {
        {"name", experiment},       {"variant", variant},
        {"n", n},                   {"seconds", seconds},
        {"bound_seconds", bound_seconds}, {"bound", bound},
        {"efficiency", efficiency()}, {"items_per_second", items_per_second()},
        {"ok", ok},
    };
    if (workers > 0) j["workers"] = workers;
    for (auto& [key, value] : extra.items()) j[key] = value;
    return j;
}

Measurement& ResultTable::add(Measurement m) {
    m.experiment = experiment_;
    rows_.push_back(std::move(m));
    return rows_.back();
}

std::string format_seconds(double s) {
    char buf[32];
    if (s < 0.001)
        std::snprintf(buf, sizeof buf, "%.6f", s);
    else if (s < 10)
        std::snprintf(buf, sizeof buf, "%.4f", s);
    else
        std::snprintf(buf, sizeof buf, "%.2f", s);
    return buf;
}

std::string format_thousands(std::uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string format_duration(double seconds) {
    char buf[32];
    if (seconds >= 1) std::snprintf(buf, sizeof buf, "%.2f s", seconds);
    else if (seconds >= 1e-3) std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1e3);
    else if (seconds >= 1e-6) std::snprintf(buf, sizeof buf, "%.1f us", seconds * 1e6);
    else std::snprintf(buf, sizeof buf, "%.0f ns", seconds * 1e9);
    return buf;
}

std::string format_percent(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f %%", fraction * 100.0);
    return buf;
}

void ResultTable::print(std::ostream& out) const {
    bool any_workers = std::any_of(rows_.begin(), rows_.end(), [](auto& m) { return m.workers > 0; });
    int vw = 8;
    for (auto& m : rows_) vw = std::max(vw, int(m.variant.size()));

    auto row = [&](std::string variant, std::string n, std::string workers, std::string seconds,
                   std::string bound, std::string bound_is, std::string efficiency) {
        out << "  " << std::left << std::setw(vw) << variant << std::right << std::setw(11) << n;
        if (any_workers) out << std::setw(8) << workers;
        out << std::setw(11) << seconds << std::setw(11) << bound << "  " << std::left
            << std::setw(14) << bound_is << std::right << std::setw(11) << efficiency;
    };
    row("variant", "n", "workers", "seconds", "bound", "(bound is)", "efficiency");
    out << "\n";
    for (auto& m : rows_) {
        row(m.variant, std::to_string(m.n), m.workers ? std::to_string(m.workers) : "-",
            format_seconds(m.seconds), format_seconds(m.bound_seconds), m.bound,
            format_percent(m.efficiency()));
        out << (m.ok ? "" : "   WRONG RESULT") << "\n";
    }
}

nlohmann::json machine_json() {
#if defined(__clang__)
    std::string compiler = "clang++ " + std::string(__clang_version__);
    if (auto space = compiler.find(' ', 8); space != std::string::npos) compiler.resize(space);
#elif defined(__GNUC__)
    std::string compiler = "g++ " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) +
                           "." + std::to_string(__GNUC_PATCHLEVEL__);
#else
    std::string compiler = "unknown";
#endif
    return {{"cores", std::thread::hardware_concurrency()}, {"compiler", compiler}};
}

nlohmann::json results_json(const std::string& lesson, bool quick,
                            const std::vector<Measurement>& measurements) {
    nlohmann::json experiments = nlohmann::json::array();
    for (auto& m : measurements) experiments.push_back(m.to_json());
    return {{"lesson", lesson}, {"quick", quick}, {"machine", machine_json()},
            {"experiments", experiments}};
}

}  // namespace course
