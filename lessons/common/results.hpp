// One measured experiment, the table lessons print, and the --json schema.
//
// Every timing in the course sits beside its theoretical bound: the time the
// variant would take if it were perfect (the serial time divided by the cores, the
// longest single delay, ...). Efficiency = bound / measured, so 100 % means "as fast
// as the theory allows" and 50 % means half the machine was wasted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace course {

struct Measurement {
    std::string experiment;     // JSON "name": which experiment ("reduce", "take", ...)
    std::string variant;        // which way of doing it ("serial", "threads", ...)
    std::size_t n = 0;          // problem size in items
    double seconds = 0;         // measured wall time
    double bound_seconds = 0;   // the best this variant could possibly do
    std::string bound;          // what that bound is: "serial/cores", "sum", "max", ...
    unsigned workers = 0;       // threads/processes used; 0 when it does not apply
    bool ok = true;             // did the variant compute the right answer?
    nlohmann::json extra = nlohmann::json::object();  // more fields for --json

    // bound / measured: 1.0 is perfect, lower is slower than the theory allows.
    double efficiency() const { return seconds > 0 ? bound_seconds / seconds : 0.0; }
    double items_per_second() const { return seconds > 0 ? double(n) / seconds : 0.0; }
    nlohmann::json to_json() const;
};

// Rows of one experiment, printed as: variant, n, seconds, bound, efficiency.
class ResultTable {
public:
    explicit ResultTable(std::string experiment) : experiment_(std::move(experiment)) {}

    // Adds a row; the row's experiment name is filled in from the table's.
    Measurement& add(Measurement m);
    void print(std::ostream& out) const;
    const std::vector<Measurement>& rows() const { return rows_; }
    const std::string& experiment() const { return experiment_; }

private:
    std::string experiment_;
    std::vector<Measurement> rows_;
};

// Human formatting shared by tables: "0.0123 s" style seconds, "87 %".
std::string format_seconds(double seconds);
std::string format_percent(double fraction);
// A duration for prose, in the unit that reads best: "1.24 s", "12.3 ms", "4.5 us", "80 ns".
std::string format_duration(double seconds);
// A count with thousands separators: 12000000 -> "12,000,000".
std::string format_thousands(std::uint64_t n);

// What the --json file says about the machine: {"cores": 2, "compiler": "g++ 12.2.0"}.
nlohmann::json machine_json();

// The whole --json document of CONVENTIONS.md.
nlohmann::json results_json(const std::string& lesson, bool quick,
                            const std::vector<Measurement>& measurements);

}  // namespace course
