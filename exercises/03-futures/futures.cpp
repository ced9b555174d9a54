// Topic 03, the functions that are not templates. See futures.hpp and README.md.
#include "futures.hpp"

namespace course::futures {

std::vector<int> slow_ops_parallel(ThreadPool& pool, std::chrono::milliseconds delay) {
    throw course::not_implemented("slow_ops_parallel");
}

std::vector<std::size_t> load_parse_store(const std::vector<std::filesystem::path>& files,
                                          const std::filesystem::path& out_dir, ThreadPool& pool) {
    throw course::not_implemented("load_parse_store");
}

double correlation(const std::vector<double>& x, const std::vector<double>& y) {
    throw course::not_implemented("correlation");
}

CorrelatedPair most_correlated_pair(const std::map<std::string, std::vector<double>>& series,
                                    ThreadPool& pool) {
    throw course::not_implemented("most_correlated_pair");
}

}  // namespace course::futures
