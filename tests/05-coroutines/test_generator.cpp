// Tests of course::coro::Generator<T> and lines(). Witnesses, no clocks: a counter the
// body bumps for every value it makes (laziness), a Guard local whose destructor counts
// (the frame was destroyed), the addresses of the views (nothing copied).
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "coro.hpp"
#include "course_catch.hpp"
#include "loop_bounds.hpp"

using course::coro::Generator;
using coro_test::Guard;

namespace {

// 0, 1, ..., n-1; counts every value it makes.
Generator<int> count_up(int n, int* made) {
    for (int i = 0; i < n; ++i) {
        ++*made;
        co_yield i;
    }
}

// Like count_up, with a Guard local: its destructor runs when the frame is destroyed.
Generator<int> guarded_count(int n, int* made, int* destroyed) {
    Guard guard(destroyed);
    for (int i = 0; i < n; ++i) {
        ++*made;
        co_yield i;
    }
}

// Yields 0 .. n-1, then throws.
Generator<int> fails_after(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
    throw std::runtime_error("the generator's body failed after " + std::to_string(n) + " values");
}

// A move-only value type goes through too.
Generator<std::unique_ptr<std::string>> boxed_words() {
    co_yield std::make_unique<std::string>("one");
    co_yield std::make_unique<std::string>("two");
}

std::vector<std::string> all_lines(std::string_view text) {
    std::vector<std::string> out;
    for (std::string_view line : course::coro::lines(text)) out.emplace_back(line);
    return out;
}

}  // namespace

// Rule: "`for (T v : gen())` gives the values in the order the body `co_yield`s them,
// and ends when the body returns."
TEST_CASE("a generator gives its values in the order the body yields them and then ends") {
    int made = 0;
    std::vector<int> seen;
    for (int v : count_up(5, &made)) seen.push_back(v);
    CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(made == 5);

    std::vector<std::string> words;
    for (auto& box : boxed_words()) words.push_back(*box);
    CHECK(words == std::vector<std::string>{"one", "two"});
}

// Rule: "Lazy: creating a generator runs nothing of its body; `begin()` runs it up to the
// first `co_yield`, each `++` up to the next one."
TEST_CASE("a generator is lazy: the body makes a value only when the consumer asks for it") {
    int made = 0;
    auto numbers = count_up(1000, &made);
    INFO("values the body had made (of 1000)");
    CHECK(made == 0);   // nothing before begin()
    auto it = numbers.begin();
    CHECK(made == 1);
    CHECK(*it == 0);
    ++it;
    ++it;
    CHECK(made == 3);
    CHECK(*it == 2);
}

// Rule: "Destroying a generator before its end (a `break` out of the loop) destroys its
// frame: the destructors of the body's locals run."
TEST_CASE("breaking out of a range-for over a generator destroys its frame and the body's locals") {
    int made = 0, destroyed = 0;
    for (int v : guarded_count(1000, &made, &destroyed)) {
        CHECK(destroyed == 0);   // the body's locals live while the loop runs
        if (v == 2) break;
    }
    INFO("times the body's Guard local was destroyed once the loop was left (1 = frame destroyed)");
    CHECK(destroyed == 1);
    CHECK(made == 3);

    destroyed = 0;
    { auto never_started = guarded_count(10, &made, &destroyed); }
    // Never resumed: the Guard was never constructed, so nothing to destroy, and no crash.
    CHECK(destroyed == 0);
}

// Rule: "An exception thrown in the body reaches the consumer at the `begin()` or `++`
// that resumed the body, after the values yielded before it."
TEST_CASE("an exception thrown in a generator's body reaches the consumer at the step that resumed it") {
    std::vector<int> seen;
    auto two_then_fail = fails_after(2);
    auto it = two_then_fail.begin();
    seen.push_back(*it);
    ++it;
    seen.push_back(*it);
    CHECK(seen == std::vector<int>{0, 1});
    CHECK_THROWS_WITH(++it, ContainsSubstring("failed after 2 values"));

    auto fail_at_once = fails_after(0);
    CHECK_THROWS_WITH(fail_at_once.begin(), ContainsSubstring("failed after 0 values"));

    // In a range-for, the loop ends with the exception.
    std::vector<int> in_loop;
    CHECK_THROWS_WITH([&] { for (int v : fails_after(3)) in_loop.push_back(v); }(),
                      ContainsSubstring("failed after 3 values"));
    CHECK(in_loop == std::vector<int>{0, 1, 2});
}

// Rule: "Move-only: copying does not compile; moving hands the frame over (the frame is
// destroyed once, by its last owner)."
TEST_CASE("a generator is move-only and moving it hands over its frame") {
    static_assert(!std::is_copy_constructible_v<Generator<int>>, "a Generator must not be copyable");
    static_assert(!std::is_copy_assignable_v<Generator<int>>, "a Generator must not be copy-assignable");
    static_assert(std::is_nothrow_move_constructible_v<Generator<int>>, "a Generator must be movable");
    int made = 0, destroyed = 0;
    std::vector<int> seen;
    {
        auto first = guarded_count(5, &made, &destroyed);
        auto it = first.begin();
        seen.push_back(*it);
        Generator<int> second = std::move(first);   // the frame moves; `first` owns nothing
        for (int v : second) seen.push_back(v);     // begin() resumes where it stopped
        CHECK(destroyed == 1);                      // the body ended: its Guard went
        int made_other = 0, destroyed_other = 0;
        auto third = guarded_count(5, &made_other, &destroyed_other);
        third.begin();
        third = std::move(second);   // third's own frame is destroyed by the assignment
        CHECK(destroyed_other == 1);
    }
    CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
    INFO("times the Guard of the moved generator was destroyed: once, by its last owner");
    CHECK(destroyed == 1);
}

// Rule: "`lines(text)` gives the lines of `text` split on '\n', as views into `text`
// (no copies)."
TEST_CASE("lines gives the lines of a text as views into that text") {
    const std::string text = "alpha\nbeta\n\ngamma";
    CHECK(all_lines(text) == std::vector<std::string>{"alpha", "beta", "", "gamma"});
    for (std::string_view line : course::coro::lines(text)) {
        INFO("line \"" << line << "\" should point into the text, not into a copy");
        CHECK(line.data() >= text.data());
        CHECK(line.data() + line.size() <= text.data() + text.size());
    }
}

// Rule: "A final '\n' does not start another line; empty text has no lines."
TEST_CASE("lines gives no empty line after a final newline and nothing for an empty text") {
    CHECK(all_lines("one\ntwo\n") == std::vector<std::string>{"one", "two"});
    CHECK(all_lines("") == std::vector<std::string>{});
    CHECK(all_lines("\n") == std::vector<std::string>{""});
    CHECK(all_lines("\n\nlast") == std::vector<std::string>{"", "", "last"});
}
