// What every lesson program shares: its command line, its printed sections and
// tables, and the --json / --trace files. A lesson's main() reads:
//
//   int main(int argc, char** argv) {
//       course::Lesson lesson("01-functional", "map, filter, reduce");
//       std::size_t size = 0;
//       lesson.options().add_options()
//           ("size", po::value(&size), "elements to reduce (default 10M; --quick 200k)");
//       return lesson.run(argc, argv, [&] {
//           if (size == 0) size = lesson.quick() ? 200'000 : 10'000'000;
//           lesson.section("1. Reduce");
//           ...
//       });
//   }
//
// Every lesson accepts --quick, --json FILE, --trace FILE and --help. run() turns
// failures into one clear line and a non-zero exit: a stub's not_implemented, bad
// options, or any other exception.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/not_implemented.hpp"
#include "common/progress.hpp"
#include "common/results.hpp"
#include "common/stopwatch.hpp"
#include "common/timeline.hpp"

namespace po = boost::program_options;

namespace course {

class Lesson {
public:
    Lesson(std::string id, std::string title);

    // The lesson's own options; --quick, --json, --trace and --help are already there.
    po::options_description_easy_init add_options() { return own_.add_options(); }

    // Parses the command line, runs body, writes --json and --trace; returns the exit code.
    int run(int argc, char** argv, const std::function<void()>& body);

    bool quick() const { return quick_; }
    const std::string& id() const { return id_; }

    // Output helpers: a numbered section heading, a paragraph, a table (printed and kept
    // for --json), a timeline (printed and kept for --trace).
    void section(std::string_view title) const;
    void say(std::string_view text) const;
    void report(const ResultTable& table);
    void record(const Measurement& m) { measurements_.push_back(m); }
    void timeline(const Recorder& rec, const std::string& experiment, int width = 60);

    const std::vector<Measurement>& measurements() const { return measurements_; }
    nlohmann::json results() const;
    nlohmann::json trace() const { return trace_; }

private:
    int finish();

    std::string id_, title_;
    po::options_description own_;
    bool quick_ = false;
    std::string json_path_, trace_path_;
    std::vector<Measurement> measurements_;
    nlohmann::json trace_ = nlohmann::json::array();
    Clock::time_point origin_ = Clock::now();
};

}  // namespace course
