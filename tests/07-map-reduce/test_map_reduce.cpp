// Tests of course::mapreduce::map_reduce on threads. The witnesses: a serial fold of the
// same data, the partition each key landed in, the number of pairs that crossed the
// shuffle, thread ids, and a rendezvous that two map tasks must reach together.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "course_catch.hpp"
#include "mapreduce.hpp"

using namespace course::mapreduce;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> texts{
    "the cat sat on the mat", "the dog sat", "a cat and a dog", "on and on and on",
    "the end", "mat mat mat", "dog eat dog", "sat on a cat"};

// The word counter every test uses: one pair (word, 1) per word.
void count_words(const std::string& text, const Emit<std::string, long>& emit) {
    std::istringstream words(text);
    for (std::string word; words >> word;) emit(word, 1);
}

std::map<std::string, long> serial_word_count() {
    std::map<std::string, long> counts;
    for (const auto& text : texts) {
        std::istringstream words(text);
        for (std::string word; words >> word;) ++counts[word];
    }
    return counts;
}

}  // namespace

// Rule: "The result equals a serial fold: every value of a key reduced into one."
TEST_CASE("map_reduce counts words exactly as a serial loop does") {
    for (unsigned workers : {1u, 2u, 3u})
        for (unsigned partitions : {1u, 3u, 8u}) {
            INFO(workers << " workers, " << partitions << " partitions");
            auto out = map_reduce<std::string, long>(texts, count_words, std::plus<long>{},
                                                     {.workers = workers, .partitions = partitions});
            CHECK(out.merged() == serial_word_count());
        }
}

// Rule: "The result equals a serial fold" for another reducer: a sum of squares by
// residue, on more inputs than workers.
TEST_CASE("map_reduce sums squares by residue exactly as a serial loop does") {
    std::vector<long> numbers;
    for (long i = 1; i <= 1000; ++i) numbers.push_back(i);
    auto out = map_reduce<long, long>(
        numbers, [](long x, const Emit<long, long>& emit) { emit(x % 7, x * x); }, std::plus<long>{},
        {.workers = 3, .partitions = 4});
    std::map<long, long> expected;
    for (long x : numbers) expected[x % 7] += x * x;
    CHECK(out.merged() == expected);
}

// Rule: "Partition r holds exactly the keys with partition_of(key, R) == r, each once."
TEST_CASE("every key lands in exactly the partition partition_of names") {
    auto out = map_reduce<std::string, long>(texts, count_words, std::plus<long>{}, {.workers = 2, .partitions = 5});
    REQUIRE(out.partitions.size() == 5);
    std::size_t keys = 0;
    for (std::size_t r = 0; r < 5; ++r)
        for (const auto& [key, count] : out.partitions[r]) {
            INFO("key '" << key << "' is in partition " << r << ", partition_of says " << partition_of(key, 5));
            CHECK(partition_of(key, 5) == r);
            ++keys;
        }
    CHECK(keys == serial_word_count().size());
}

// Rule: "Without a combiner every emitted pair crosses the shuffle; with one, each map task
// sends one pair per distinct key it saw, and the result is the same."
TEST_CASE("a combiner sends one pair per key per map task and changes nothing else") {
    std::size_t words = 0, distinct_per_task = 0;
    for (const auto& text : texts) {
        std::istringstream in(text);
        std::set<std::string> seen;
        for (std::string w; in >> w; ++words) seen.insert(w);
        distinct_per_task += seen.size();
    }
    auto plain = map_reduce<std::string, long>(texts, count_words, std::plus<long>{}, {.workers = 2, .partitions = 3});
    auto combined = map_reduce<std::string, long>(texts, count_words, std::plus<long>{},
                                                  {.workers = 2, .partitions = 3, .combiner = true});
    CHECK(plain.shuffled == words);
    CHECK(combined.shuffled == distinct_per_task);
    CHECK(combined.merged() == plain.merged());
}

// Rule: "Map tasks run on `workers` threads at once, never on the caller's thread." Two
// map tasks must meet: each waits (up to 10 s) for the other to arrive. Tasks run one
// after another never meet.
TEST_CASE("two map tasks run at the same time on worker threads") {
    std::mutex mutex;
    std::condition_variable changed;
    int arrived = 0;
    bool met = false;
    auto meet = [&](const std::string& text, const Emit<std::string, long>& emit) {
        std::unique_lock lock(mutex);
        ++arrived;
        changed.notify_all();
        if (changed.wait_for(lock, 10s, [&] { return arrived >= 2; })) met = true;
        emit(text, 1);
    };
    auto out = map_reduce<std::string, long>(std::vector<std::string>{"a", "b"}, meet, std::plus<long>{},
                                             {.workers = 2, .partitions = 2});
    CHECK(met);
    CHECK(out.threads.count(std::this_thread::get_id()) == 0);
    CHECK(out.merged() == std::map<std::string, long>{{"a", 1}, {"b", 1}});
}

// Rule: "At most `workers` tasks run at once." Witnesses: the distinct threads that ran a
// task (a thread per task gives 40, all alive together, so 40 distinct ids) and the peak of
// a counter of running map tasks.
TEST_CASE("no more than workers map tasks run at once") {
    std::atomic<int> running{0}, peak{0};
    auto busy = [&](long x, const Emit<long, long>& emit) {
        int now = ++running;
        for (int seen = peak.load(); seen < now && !peak.compare_exchange_weak(seen, now);) {
        }
        emit(x % 3, x);
        --running;
    };
    std::vector<long> numbers(40);
    for (long i = 0; i < 40; ++i) numbers[std::size_t(i)] = i;
    auto out = map_reduce<long, long>(numbers, busy, std::plus<long>{}, {.workers = 3, .partitions = 2});
    INFO("at most " << peak << " map tasks ran at once");
    CHECK(peak <= 3);
    CHECK(out.threads.size() <= 3);
    CHECK(out.merged().at(0) == 0 + 3 + 6 + 9 + 12 + 15 + 18 + 21 + 24 + 27 + 30 + 33 + 36 + 39);
}

// Rule: "An exception thrown by a mapper or reducer reaches the caller, after every worker
// thread has stopped."
TEST_CASE("an exception in a map task reaches the caller") {
    auto failing = [](long x, const Emit<long, long>& emit) {
        if (x == 5) throw std::runtime_error("bad input 5");
        emit(x, x);
    };
    std::vector<long> numbers{1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_THROWS_WITH((map_reduce<long, long>(numbers, failing, std::plus<long>{}, {.workers = 2, .partitions = 2})),
                      ContainsSubstring("bad input 5"));
}

// Rule: "0 workers or 0 partitions throw std::invalid_argument; no inputs give empty
// partitions."
TEST_CASE("zero workers or partitions are refused and no inputs give an empty result") {
    CHECK_THROWS_AS((map_reduce<std::string, long>(texts, count_words, std::plus<long>{}, {.workers = 0})),
                    std::invalid_argument);
    CHECK_THROWS_AS((map_reduce<std::string, long>(texts, count_words, std::plus<long>{}, {.partitions = 0})),
                    std::invalid_argument);
    auto out = map_reduce<std::string, long>(std::vector<std::string>{}, count_words, std::plus<long>{},
                                             {.workers = 2, .partitions = 3});
    CHECK(out.partitions.size() == 3);
    CHECK(out.merged().empty());
}
