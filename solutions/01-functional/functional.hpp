// Topic 01: map, filter, reduce: the atoms of every distributed framework.
//
// Each function here is pure: it reads its input, returns a new value and changes
// nothing else. That is what lets the same code run on one core or on many: pieces of
// the input can be handed to different threads (or machines) without any of them
// waiting for another.
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
    std::vector<std::decay_t<std::invoke_result_t<F&, std::ranges::range_reference_t<const R>>>> out;
    if constexpr (std::ranges::sized_range<const R>) out.reserve(std::ranges::size(input));
    for (auto&& x : input) out.push_back(std::invoke(f, x));
    return out;
}

// filter(input, keep) -> a new vector of the elements x with keep(x) true, in input order.
template <std::ranges::input_range R, class Pred>
auto filter(const R& input, Pred keep) -> std::vector<std::ranges::range_value_t<R>> {
    std::vector<std::ranges::range_value_t<R>> out;
    for (auto&& x : input)
        if (std::invoke(keep, x)) out.push_back(x);
    return out;
}

// reduce(input, init, op) -> op(...op(op(init, x0), x1)..., xn), a left fold.
// The order matters for an operation that is associative but not commutative
// (string concatenation, matrix product): x0 always comes before x1.
template <std::ranges::input_range R, class T, class Op>
T reduce(const R& input, T init, Op op) {
    for (auto&& x : input) init = std::invoke(op, std::move(init), x);
    return init;
}

// compose(f, g) -> the function x -> f(g(x)).
template <class F, class G>
auto compose(F f, G g) {
    return [f = std::move(f), g = std::move(g)](auto&& x) -> decltype(auto) {
        return std::invoke(f, std::invoke(g, std::forward<decltype(x)>(x)));
    };
}

// The delays of the seed's request list: "http://host/delay/3" -> 3.
// Throws std::invalid_argument naming the URL when its last segment is not a number.
std::vector<int> delays_from_urls(const std::vector<std::string>& urls);

// Word counts of some lines, built as map (each line -> its counts) then reduce
// (merge the counts). A word is a run of letters, digits or non-ASCII bytes (so UTF-8
// words stay whole), lower-cased for ASCII letters; everything else separates words.
std::map<std::string, std::size_t> word_frequencies(const std::vector<std::string>& lines);

}  // namespace course::functional
