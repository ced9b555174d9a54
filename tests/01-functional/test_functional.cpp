// Tests of course::functional. They compile against the solution and against the
// exercise; every test case must fail on the stub and pass on a correct answer.
#include <list>
#include <string>
#include <vector>

#include "course_catch.hpp"
#include "functional.hpp"

namespace fn = course::functional;

TEST_CASE("map applies f to every element, in order") {
    std::vector<int> xs{1, 2, 3, 4};
    CHECK(fn::map(xs, [](int x) { return x * x; }) == std::vector<int>{1, 4, 9, 16});
    // The result type is what f returns, not what the input holds.
    CHECK(fn::map(xs, [](int x) { return std::to_string(x); }) == std::vector<std::string>{"1", "2", "3", "4"});
    // Any input range works, and an empty one gives an empty result.
    std::list<double> halves{1.0, 3.0};
    CHECK(fn::map(halves, [](double x) { return x / 2; }) == std::vector<double>{0.5, 1.5});
    CHECK(fn::map(std::vector<int>{}, [](int x) { return x; }).empty());
}

TEST_CASE("filter keeps the elements the predicate accepts, in order") {
    std::vector<int> xs{5, 2, 8, 1, 9, 4};
    CHECK(fn::filter(xs, [](int x) { return x % 2 == 0; }) == std::vector<int>{2, 8, 4});
    CHECK(fn::filter(xs, [](int) { return false; }).empty());
    CHECK(fn::filter(xs, [](int) { return true; }) == xs);
}

TEST_CASE("map, filter and reduce do not mutate their input") {
    std::vector<int> xs{3, 1, 2};
    const auto before = xs;
    fn::map(xs, [](int x) { return x + 1; });
    fn::filter(xs, [](int x) { return x > 1; });
    fn::reduce(xs, 0, [](int a, int b) { return a + b; });
    CHECK(xs == before);
}

TEST_CASE("reduce folds from the left, starting with init") {
    std::vector<int> xs{1, 2, 3, 4, 5};
    CHECK(fn::reduce(xs, 0, [](int a, int b) { return a + b; }) == 15);
    CHECK(fn::reduce(xs, 1, [](int a, int b) { return a * b; }) == 120);
    CHECK(fn::reduce(std::vector<int>{}, 42, [](int a, int b) { return a + b; }) == 42);
    // The accumulator may have another type than the elements.
    CHECK(fn::reduce(xs, std::string{}, [](std::string s, int x) { return s + std::to_string(x); }) == "12345");
}

TEST_CASE("reduce keeps order for an associative but not commutative operation") {
    // Concatenation is associative ((a+b)+c == a+(b+c)) but not commutative
    // (a+b != b+a): a reduce that combines out of order gives a different string.
    std::vector<std::string> words{"map", "-", "shuffle", "-", "reduce"};
    auto concat = [](std::string a, const std::string& b) { return a + b; };
    CHECK(fn::reduce(words, std::string{">"}, concat) == ">map-shuffle-reduce");

    // 2x2 matrix product, associative and not commutative.
    using M = std::array<long, 4>;
    auto mul = [](M a, M b) {
        return M{a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
                 a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]};
    };
    std::vector<M> ms{{1, 2, 3, 4}, {0, 1, 1, 0}, {2, 0, 0, 1}};
    CHECK(fn::reduce(ms, M{1, 0, 0, 1}, mul) == mul(mul(ms[0], ms[1]), ms[2]));
    CHECK(fn::reduce(ms, M{1, 0, 0, 1}, mul) != mul(mul(ms[2], ms[1]), ms[0]));
}

TEST_CASE("compose(f, g) is x -> f(g(x))") {
    auto add_one = [](int x) { return x + 1; };
    auto twice = [](int x) { return 2 * x; };
    CHECK(fn::compose(add_one, twice)(5) == 11);
    CHECK(fn::compose(twice, add_one)(5) == 12);
    auto length_of_text = fn::compose([](const std::string& s) { return s.size(); },
                                      [](int x) { return std::to_string(x); });
    CHECK(length_of_text(12345) == 5u);
}

TEST_CASE("delays_from_urls reads the seed's request list") {
    std::vector<std::string> urls{"https://httpbin.org/delay/3", "https://httpbin.org/delay/1",
                                  "https://httpbin.org/delay/3", "https://httpbin.org/delay/2",
                                  "http://127.0.0.1:8080/delay/1"};
    auto delays = fn::delays_from_urls(urls);
    CHECK(delays == std::vector<int>{3, 1, 3, 2, 1});
    CHECK(fn::reduce(delays, 0, [](int a, int b) { return a + b; }) == 10);   // the sequential bound
    CHECK(fn::delays_from_urls({}).empty());
}

TEST_CASE("delays_from_urls names the URL it cannot read") {
    std::vector<std::string> urls{"https://httpbin.org/delay/2", "https://httpbin.org/delay/soon"};
    try {
        fn::delays_from_urls(urls);
        FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("https://httpbin.org/delay/soon") != std::string::npos);
    }
    CHECK_THROWS_AS(fn::delays_from_urls({"https://httpbin.org/delay/"}), std::invalid_argument);
    CHECK_THROWS_AS(fn::delays_from_urls({"https://httpbin.org/delay/3x"}), std::invalid_argument);
}

TEST_CASE("word_frequencies counts words across lines") {
    std::vector<std::string> lines{"The map step, then the reduce step.", "MAP again: map!", ""};
    auto counts = fn::word_frequencies(lines);
    CHECK(counts == std::map<std::string, std::size_t>{
                        {"the", 2}, {"map", 3}, {"step", 2}, {"then", 1}, {"reduce", 1}, {"again", 1}});
    CHECK(fn::word_frequencies({}).empty());
}

TEST_CASE("word_frequencies keeps UTF-8 words whole and leaves its input alone") {
    std::vector<std::string> lines{"Gödel, Escher, Bach", "gödel's 2nd theorem"};
    const auto before = lines;
    auto counts = fn::word_frequencies(lines);
    CHECK(counts["gödel"] == 2);
    CHECK(counts["escher"] == 1);
    CHECK(counts["2nd"] == 1);
    CHECK(counts["s"] == 1);
    CHECK(lines == before);
}
