// Inside the solution: one file's papers, in order, to a callback. Shared by
// load_paper_data (the callback pushes into the channel) and the distributed workers
// (the callback writes to the socket).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>

#include "loading.hpp"

namespace course::loading::detail {

// Calls on_paper for each paper of `file` after the first `skip` papers (a resumed
// file); returns the papers seen, skipped ones included. loaded_by is set to this
// process's pid. Throws load_error after the papers before the bad spot.
std::size_t for_each_paper(const std::filesystem::path& file, std::size_t skip,
                           const std::function<void(Paper&&)>& on_paper);

}  // namespace course::loading::detail
