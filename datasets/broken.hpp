// The broken fixtures of datasets/broken/: one file per way a corpus file can be bad,
// so every reader and loader of the course is tested on each. datasets/README.md
// documents what each must produce. `course-datasets broken --out DIR` writes them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace course::datasets {

// Seed of generate_papers() for the fixtures' good lines: a test can regenerate them
// and compare what a reader delivered line by line.
inline constexpr std::uint64_t broken_fixture_seed = 3;

// Writes the fixtures into dir (created if needed); returns one line per fixture:
// its name and what a reader gets from it.
std::vector<std::string> write_broken_fixtures(const std::filesystem::path& dir);

}  // namespace course::datasets
