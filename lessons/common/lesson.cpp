#include "common/lesson.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace course {

Lesson::Lesson(std::string id, std::string title)
    : id_(std::move(id)), title_(std::move(title)), own_("Options of this lesson") {}

int Lesson::run(int argc, char** argv, const std::function<void()>& body) {
    po::options_description common("Options of every lesson");
    common.add_options()
        ("help,h", "print this help and exit")
        ("quick", po::bool_switch(&quick_), "small sizes: finishes in seconds (what CI runs)")
        ("json", po::value(&json_path_)->value_name("FILE"), "write the measurements as JSON to FILE")
        ("trace", po::value(&trace_path_)->value_name("FILE"),
         "write a Chrome trace of every task to FILE (open in ui.perfetto.dev)");
    po::options_description all;
    all.add(common).add(own_);

    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, all), vm);
        if (vm.count("help")) {
            std::cout << "lesson " << id_ << ": " << title_ << "\n\n" << all << "\n";
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "lesson " << id_ << ": " << e.what() << " (see --help)\n";
        return 2;
    }

    std::cout << "lesson " << id_ << ": " << title_ << (quick_ ? "   [--quick sizes]" : "") << "\n";
    auto machine = machine_json();
    std::cout << "machine: " << machine["cores"] << " cores, " << machine["compiler"].get<std::string>() << "\n";
    try {
        body();
    } catch (const not_implemented& e) {
        std::cout.flush();
        std::cerr << "\nlesson " << id_ << " stopped: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << "\nlesson " << id_ << " failed: " << e.what() << "\n";
        return 1;
    }
    return finish();
}

void Lesson::section(std::string_view title) const {
    std::cout << "\n== " << title << " " << std::string(title.size() < 70 ? 70 - title.size() : 2, '=') << "\n";
}

void Lesson::say(std::string_view text) const { std::cout << text << "\n"; }

void Lesson::report(const ResultTable& table) {
    table.print(std::cout);
    for (auto& m : table.rows()) measurements_.push_back(m);
}

void Lesson::timeline(const Recorder& rec, const std::string& experiment, int width) {
    print_timeline(std::cout, rec, width);
    for (auto& e : trace_events(rec, origin_, experiment)) trace_.push_back(e);
}

nlohmann::json Lesson::results() const { return results_json(id_, quick_, measurements_); }

int Lesson::finish() {
    auto write = [&](const std::string& path, const nlohmann::json& doc) {
        auto parent = std::filesystem::path(path).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent);
        std::ofstream out(path);
        out << doc.dump(2) << "\n";
        if (!out) throw std::runtime_error("cannot write " + path);
        std::cout << "wrote " << path << "\n";
    };
    try {
        if (!json_path_.empty()) write(json_path_, results());
        if (!trace_path_.empty())
            write(trace_path_, nlohmann::json{{"traceEvents", trace_}, {"displayTimeUnit", "ms"}});
    } catch (const std::exception& e) {
        std::cerr << "lesson " << id_ << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace course
