// A fresh folder for one test case, removed when the case ends. The name holds the
// process id and a counter, so cases that ctest runs in parallel (each in its own
// process) never share a folder.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace course::testing {

struct TempDir {
    std::filesystem::path path;

    explicit TempDir(const std::string& tag = "course-test") {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;   // a destructor must not throw
        std::filesystem::remove_all(path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace course::testing
