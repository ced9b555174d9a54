// Topic 01: map, filter, reduce: the atoms of every distributed framework.
//
// YOUR TASK: replace every `throw course::not_implemented(...)` with a real body.
// Read README.md in this folder first; `./course check 01` tests your work and
// `./course hint 01` gives one hint at a time.
//
// Each function here must be pure: it reads its input, returns a new value and
// changes nothing else. That is what lets the same code run on one core or on many.
#pragma once

#include <concepts>
#include <functional>
#include <map>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/not_implemented.hpp"

namespace course::functional {

// map(input, f) -> a new vector holding f(x) for every x of input, in input order.
template <std::ranges::input_range R, class F>
auto map(const R& input, F f)
    -> std::vector<std::decay_t<std::invoke_result_t<F&, std::ranges::range_reference_t<const R>>>> {
    throw course::not_implemented("course::functional::map");
}

// filter(input, keep) -> a new vector of the elements x with keep(x) true, in input order.
template <std::ranges::input_range R, class Pred>
auto filter(const R& input, Pred keep) -> std::vector<std::ranges::range_value_t<R>> {
    throw course::not_implemented("course::functional::filter");
}

// reduce(input, init, op) -> op(...op(op(init, x0), x1)..., xn), a left fold.
// The order matters for an operation that is associative but not commutative
// (string concatenation, matrix product): x0 always comes before x1.
template <std::ranges::input_range R, class T, class Op>
T reduce(const R& input, T init, Op op) {
    throw course::not_implemented("course::functional::reduce");
}

// compose(f, g) -> the function x -> f(g(x)).
template <class F, class G>
auto compose(F f, G g) {
    throw course::not_implemented("course::functional::compose");
    // Never reached: this line only tells the compiler what the stub returns.
    // Replace the whole body, this line included.
    return [f, g](auto&& x) -> decltype(f(g(x))) { (void)f, (void)g; throw course::not_implemented("compose"); };
}

// The delays of the seed's request list: "http://host/delay/3" -> 3.
// Throws std::invalid_argument naming the URL when its last segment is not a number.
std::vector<int> delays_from_urls(const std::vector<std::string>& urls);

// Word counts of some lines, built as map (each line -> its counts) then reduce
// (merge the counts). A word is a run of letters, digits or non-ASCII bytes (so UTF-8
// words stay whole), lower-cased for ASCII letters; everything else separates words.
std::map<std::string, std::size_t> word_frequencies(const std::vector<std::string>& lines);

}  // namespace course::functional
