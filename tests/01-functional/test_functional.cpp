// Tests of course::functional. They compile against the solution and against the
// exercise; every test case must fail on the stub and pass on a correct answer.
// Each case names the README rule it guards ("Rule: ..."); solutions/01-functional/
// mutants/ holds, per rule, a wrong version that the named case must catch.
#include <array>
#include <list>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "course_catch.hpp"
#include "functional.hpp"

namespace fn = course::functional;

// Rule: map returns f(x) for each x, in order (a new vector of what f returns).
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

// Rule: filter keeps the x with keep(x) true, in order.
TEST_CASE("filter keeps the elements the predicate accepts, in order") {
    std::vector<int> xs{5, 2, 8, 1, 9, 4};
    CHECK(fn::filter(xs, [](int x) { return x % 2 == 0; }) == std::vector<int>{2, 8, 4});
    CHECK(fn::filter(xs, [](int) { return false; }).empty());
    CHECK(fn::filter(xs, [](int) { return true; }) == xs);
    std::list<std::string> words{"map", "to", "filter", "a", "reduce"};
    CHECK(fn::filter(words, [](const std::string& w) { return w.size() > 2; }) ==
          std::vector<std::string>{"map", "filter", "reduce"});
}

// Rule: the input is never modified.
TEST_CASE("map, filter and reduce do not mutate their input") {
    std::vector<int> xs{3, 1, 2};
    const auto before = xs;
    fn::map(xs, [](int x) { return x + 1; });
    fn::filter(xs, [](int x) { return x > 1; });
    fn::reduce(xs, 0, [](int a, int b) { return a + b; });
    CHECK(xs == before);

    // Strings, taken by value by f, keep, op: an element moved out of the input (instead
    // of copied) would be left empty here.
    std::vector<std::string> words{"pure", "functions", "leave", "their", "input", "alone"};
    const auto words_before = words;
    CHECK(fn::map(words, [](std::string w) { return w + "!"; }).size() == words.size());
    CHECK(fn::filter(words, [](std::string w) { return w.size() > 4; }).size() == 5u);
    CHECK(fn::reduce(words, std::string{}, [](std::string acc, std::string w) { return acc + w; }) ==
          "purefunctionsleavetheirinputalone");
    CHECK(words == words_before);
}

// Rule: reduce is op(...op(op(init, x0), x1)..., xn): it starts with init.
TEST_CASE("reduce folds from the left, starting with init") {
    std::vector<int> xs{1, 2, 3, 4, 5};
    CHECK(fn::reduce(xs, 0, [](int a, int b) { return a + b; }) == 15);
    CHECK(fn::reduce(xs, 1, [](int a, int b) { return a * b; }) == 120);
    CHECK(fn::reduce(xs, 100, [](int a, int b) { return a - b; }) == 85);
    CHECK(fn::reduce(std::vector<int>{}, 42, [](int a, int b) { return a + b; }) == 42);
    // The accumulator may have another type than the elements.
    CHECK(fn::reduce(xs, std::string{}, [](std::string s, int x) { return s + std::to_string(x); }) == "12345");
}

// Rule: reduce combines strictly left to right (associative, not commutative operations).
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

// Rule: compose(f, g) is a callable h with h(x) == f(g(x)).
TEST_CASE("compose(f, g) is x -> f(g(x))") {
    auto add_one = [](int x) { return x + 1; };
    auto twice = [](int x) { return 2 * x; };
    CHECK(fn::compose(add_one, twice)(5) == 11);
    CHECK(fn::compose(twice, add_one)(5) == 12);
    auto length_of_text = fn::compose([](const std::string& s) { return s.size(); },
                                      [](int x) { return std::to_string(x); });
    CHECK(length_of_text(12345) == 5u);
}

// Rule: delays_from_urls reads the last segment of every URL, in order.
TEST_CASE("delays_from_urls reads the seed's request list") {
    std::vector<std::string> urls{"https://httpbin.org/delay/3", "https://httpbin.org/delay/1",
                                  "https://httpbin.org/delay/3", "https://httpbin.org/delay/2",
                                  "http://127.0.0.1:8080/delay/1"};
    auto delays = fn::delays_from_urls(urls);
    CHECK(delays == std::vector<int>{3, 1, 3, 2, 1});
    CHECK(fn::reduce(delays, 0, [](int a, int b) { return a + b; }) == 10);   // the sequential bound
    CHECK(fn::delays_from_urls({}).empty());
}

// Rule: std::invalid_argument naming the URL when the last segment is not a whole number.
TEST_CASE("delays_from_urls names the URL it cannot read") {
    std::vector<std::string> urls{"https://httpbin.org/delay/2", "https://httpbin.org/delay/soon"};
    try {
        fn::delays_from_urls(urls);
        FAIL("expected std::invalid_argument");
    } catch (const std::invalid_argument& e) {
        CHECK_THAT(e.what(), ContainsSubstring("https://httpbin.org/delay/soon"));
    }
    CHECK_THROWS_AS(fn::delays_from_urls({"https://httpbin.org/delay/"}), std::invalid_argument);
    // A whole number is all of the segment: a number followed by more text is not one.
    CHECK_THROWS_AS(fn::delays_from_urls({"https://httpbin.org/delay/3x"}), std::invalid_argument);
    CHECK_THROWS_AS(fn::delays_from_urls({"https://httpbin.org/delay/2.5"}), std::invalid_argument);
}

// Rule: word_frequencies counts words (runs of ASCII letters, digits or non-ASCII
// bytes), ASCII letters lower-cased, over all the lines.
TEST_CASE("word_frequencies counts words across lines") {
    std::vector<std::string> lines{"The map step, then the reduce step.", "MAP again: map!", ""};
    auto counts = fn::word_frequencies(lines);
    CHECK(counts == std::map<std::string, std::size_t>{
                        {"the", 2}, {"map", 3}, {"step", 2}, {"then", 1}, {"reduce", 1}, {"again", 1}});
    CHECK(fn::word_frequencies({}).empty());
    // Digits belong to words; everything else that is ASCII separates them.
    CHECK(fn::word_frequencies({"R2-D2 met C-3PO in 1977;1977_again"}) ==
          std::map<std::string, std::size_t>{
              {"r2", 1}, {"d2", 1}, {"met", 1}, {"c", 1}, {"3po", 1}, {"in", 1}, {"1977", 2}, {"again", 1}});
}

// Rule: non-ASCII bytes are word bytes (UTF-8 words stay whole), and the input is never modified.
TEST_CASE("word_frequencies keeps UTF-8 words whole and leaves its input alone") {
    std::vector<std::string> lines{"Gödel, Escher, Bach", "gödel's 2nd theorem"};
    const auto before = lines;
    auto counts = fn::word_frequencies(lines);
    CHECK(counts == std::map<std::string, std::size_t>{
                        {"gödel", 2}, {"escher", 1}, {"bach", 1}, {"s", 1}, {"2nd", 1}, {"theorem", 1}});
    CHECK(lines == before);
    // Only ASCII letters are lower-cased: the bytes of "Ö" are left as they are.
    CHECK(fn::word_frequencies({"ÖL öl"}) == std::map<std::string, std::size_t>{{"Öl", 1}, {"öl", 1}});
}
