// One include for Catch2 2.13 (Debian 12) and Catch2 3.x (Debian 13, Ubuntu 24.04).
// This is the only file that knows which version is installed: tests include it and use
//   Approx(x)                                 floating-point comparison
//   CHECK_THAT(text, ContainsSubstring("x"))  and StartsWith, EndsWith
// in the same spelling on both. It also teaches Catch2 to print std::optional, pairs,
// tuples and variants, so a failing check shows values instead of {?}.
#pragma once

#include <optional>
#include <string>

// Printers Catch2 has but keeps switched off by default (both versions read these).
#ifndef CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#endif
#ifndef CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#define CATCH_CONFIG_ENABLE_TUPLE_STRINGMAKER
#endif
#ifndef CATCH_CONFIG_ENABLE_VARIANT_STRINGMAKER
#define CATCH_CONFIG_ENABLE_VARIANT_STRINGMAKER
#endif

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define COURSE_CATCH_VERSION 3
using Catch::Approx;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
#else
#include <catch2/catch.hpp>
#define COURSE_CATCH_VERSION 2
// Catch2 3 renamed Contains (on strings) to ContainsSubstring; the tests use the new name.
inline Catch::Matchers::StdString::ContainsMatcher ContainsSubstring(
    const std::string& text, Catch::CaseSensitive::Choice cs = Catch::CaseSensitive::Yes) {
    return Catch::Matchers::Contains(text, cs);
}
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
#endif

// std::optional prints as "empty (nullopt)" or "optional(value)": a channel's pop() that
// returned nothing is then visible in a failing CHECK.
namespace Catch {
template <typename T>
struct StringMaker<std::optional<T>> {
    static std::string convert(const std::optional<T>& value) {
        if (!value) return "empty (nullopt)";
        return "optional(" + ::Catch::Detail::stringify(*value) + ")";
    }
};
template <>
struct StringMaker<std::nullopt_t> {
    static std::string convert(std::nullopt_t) { return "empty (nullopt)"; }
};
}  // namespace Catch
