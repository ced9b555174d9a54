// Section 3: boost::future, whose .then attaches a continuation and whose when_all
// turns many futures into one. std::future has neither (std::experimental had them).
//
// Boost.Thread keeps these behind its version switch: by default (version 2) there is
// no .then and no when_all. Version 4 turns on BOOST_THREAD_PROVIDES_FUTURE_CONTINUATION
// and BOOST_THREAD_PROVIDES_FUTURE_WHEN_ALL_WHEN_ANY (among others); version 5 also adds
// the executors and stops a boost::async future from blocking in its destructor. The
// define must come before the first Boost.Thread include of this file, and no other
// file of the lesson includes Boost.Thread, so the choice stays local. The lesson links
// Boost::thread (LESSON_LIBRARIES of its course_topic line).
#define BOOST_THREAD_VERSION 5
#include <boost/thread/future.hpp>

#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "futures.hpp"
#include "parts.hpp"

using course::ResultTable;
using course::Stopwatch;
using course::futures::slowadd;

namespace lesson03 {

void boost_continuations(course::Lesson& lesson, const Settings& s) {
    lesson.section("3. boost::future: .then and when_all");
    const auto d = s.delay;
    ResultTable table("boost-future");

    {   // A chain: each stage starts when the previous one's value is ready, without the
        // caller waiting in between. The continuation receives the finished future.
        Stopwatch w;
        boost::future<int> first = boost::async(boost::launch::async, [d] { return slowadd(1, 2, d); });
        boost::future<std::string> chain =
            first.then([d](boost::future<int> f) { return slowadd(f.get(), 10, d); })
                .then([](boost::future<int> f) { return "the chain gave " + std::to_string(f.get()); });
        std::string said = chain.get();
        table.add({.variant = "async.then.then", .n = 2, .seconds = w.seconds(), .bound_seconds = 2 * seconds_of(d),
                   .bound = "sum of chain", .ok = said == "the chain gave 13"});
        lesson.say("slowadd(1, 2) .then slowadd(_, 10) .then to_string: \"" + said + "\"");
    }
    {   // when_all: one future that is ready when all eight are; .then on it sums them.
        Stopwatch w;
        std::vector<boost::future<int>> calls;
        for (int i = 0; i < 8; ++i) calls.push_back(boost::async(boost::launch::async, [i, d] { return slowadd(i, i, d); }));
        boost::future<int> total = boost::when_all(calls.begin(), calls.end())
                                       .then([](boost::future<std::vector<boost::future<int>>> all) {
                                           int sum = 0;
                                           for (auto& f : all.get()) sum += f.get();
                                           return sum;
                                       });
        int sum = total.get();
        table.add({.variant = "when_all(8 x async).then", .n = 8, .seconds = w.seconds(),
                   .bound_seconds = seconds_of(d), .bound = "max: 8 threads", .workers = 8, .ok = sum == 56});
        lesson.say("when_all of slowadd(i, i) for i < 8, then the sum: " + std::to_string(sum));
    }
    {   // An exception travels down the chain: the continuation's f.get() rethrows it,
        // and the continuation decides what to do with it.
        boost::future<int> broken =
            boost::async(boost::launch::async, []() -> int { throw std::runtime_error("no price for that day"); });
        std::string recovered = broken.then([](boost::future<int> f) -> std::string {
                                          try {
                                              return std::to_string(f.get());
                                          } catch (const std::exception& e) {
                                              return std::string("recovered from \"") + e.what() + "\"";
                                          }
                                      }).get();
        lesson.say("a failing first stage, then a continuation that catches: " + recovered);
    }
    lesson.report(table);
}

}  // namespace lesson03
