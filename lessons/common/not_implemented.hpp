// The exception every exercise stub throws. A stub fails fast and loudly: it never
// hangs and never returns a plausible value, so a test (or a lesson run with --mine)
// reports "not implemented yet" instead of a wrong number.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace course {

class not_implemented : public std::logic_error {
public:
    explicit not_implemented(std::string_view what)
        : std::logic_error("not implemented yet: " + std::string(what) +
                           " (this is the exercise stub: write it, then ./course check)") {}
};

}  // namespace course
