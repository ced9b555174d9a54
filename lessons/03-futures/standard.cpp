// Sections 1 and 4: the standard library's three ways to get a future, and what
// happens to an exception thrown on the other side of one.
#include <future>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "futures.hpp"
#include "parts.hpp"

using course::Measurement;
using course::Recorder;
using course::ResultTable;
using course::Stopwatch;
using course::futures::slowadd;

namespace lesson03 {

void standard_futures(course::Lesson& lesson, const Settings& s) {
    lesson.section("1. std::async, std::promise and std::packaged_task");
    const auto d = s.delay;

    // One call: the future comes back at once; get() is where the caller waits.
    Stopwatch watch;
    std::future<int> one = std::async(std::launch::async, slowadd, 1, 2, d);
    double handed_back = watch.seconds();
    int three = one.get();
    double answered = watch.seconds();
    std::ostringstream line;
    line << "std::async(slowadd, 1, 2) handed back its future after " << course::format_seconds(handed_back)
         << " s; get() returned " << three << " after " << course::format_seconds(answered) << " s";
    lesson.say(line.str());
    lesson.say("Eight calls of slowadd(i, i), three ways: each way ends with a future per call.");

    ResultTable table("std-futures");
    auto expected_ok = [](const std::vector<int>& v) {
        for (int i = 0; i < int(v.size()); ++i)
            if (v[i] != 2 * i) return false;
        return v.size() == 8;
    };

    {   // std::async with launch::async: a new thread per call.
        Stopwatch w;
        std::vector<std::future<int>> futures;
        for (int i = 0; i < 8; ++i) futures.push_back(std::async(std::launch::async, slowadd, i, i, d));
        std::vector<int> values;
        for (auto& f : futures) values.push_back(f.get());
        table.add({.variant = "std::async x 8", .n = 8, .seconds = w.seconds(), .bound_seconds = seconds_of(d),
                   .bound = "max: 8 threads", .workers = 8, .ok = expected_ok(values)});
    }
    {   // std::promise: the producing thread holds the promise, the caller the future.
        Stopwatch w;
        std::vector<std::future<int>> futures;
        std::vector<std::jthread> threads;
        for (int i = 0; i < 8; ++i) {
            std::promise<int> promise;
            futures.push_back(promise.get_future());
            threads.emplace_back([i, d](std::promise<int> p) { p.set_value(slowadd(i, i, d)); }, std::move(promise));
        }
        std::vector<int> values;
        for (auto& f : futures) values.push_back(f.get());
        table.add({.variant = "promise x 8 threads", .n = 8, .seconds = w.seconds(),
                   .bound_seconds = seconds_of(d), .bound = "max: 8 threads", .workers = 8,
                   .ok = expected_ok(values)});
    }   // the jthreads join here
    Recorder rec;
    {   // std::packaged_task: a callable with a future attached, run by whoever we like:
        // here two threads, each running four of the eight tasks one after another.
        Stopwatch w;
        std::vector<std::packaged_task<int()>> tasks;
        std::vector<std::future<int>> futures;
        for (int i = 0; i < 8; ++i) {
            tasks.emplace_back([i, d, &rec] {
                auto span = rec.span("slowadd(" + std::to_string(i) + ")");
                return slowadd(i, i, d);
            });
            futures.push_back(tasks.back().get_future());
        }
        {
            std::vector<std::jthread> two;
            for (int t = 0; t < 2; ++t)
                two.emplace_back([&tasks, t] {
                    for (std::size_t k = std::size_t(t); k < tasks.size(); k += 2) tasks[k]();
                });
            // The caller may read the futures while the tasks still run.
            std::vector<int> values;
            for (auto& f : futures) values.push_back(f.get());
            table.add({.variant = "packaged_task on 2 threads", .n = 8, .seconds = w.seconds(),
                       .bound_seconds = waves_bound(8, 2, d), .bound = "ceil(8/2)*d", .workers = 2,
                       .ok = expected_ok(values)});
        }
    }
    lesson.report(table);
    lesson.say("\nThe packaged tasks on their two threads (one character per call):");
    lesson.timeline(rec, "std-futures");
}

void exceptions(course::Lesson& lesson, const Settings& s) {
    lesson.section("4. An exception thrown in a task arrives at get()");
    lesson.say("A future holds either a value or an exception. Whatever the task throws is stored, "
               "and get() rethrows it on the caller's thread:");

    auto fails = [](int x) -> int {
        if (x > 2) throw std::out_of_range("slow call got " + std::to_string(x) + ", wants at most 2");
        return x;
    };
    auto show = [&](const std::string& how, auto& future) {
        try {
            future.get();
            lesson.say("  " + how + ": no exception?!");
        } catch (const std::exception& e) {
            lesson.say("  " + how + ": get() threw \"" + e.what() + "\"");
        }
    };

    auto by_async = std::async(std::launch::async, fails, 3);
    show("std::async        ", by_async);

    std::promise<int> promise;
    auto by_promise = promise.get_future();
    std::jthread producer([&promise] {
        try {
            throw std::runtime_error("the producer could not read its input");
        } catch (...) {
            promise.set_exception(std::current_exception());   // hand it over instead of dying
        }
    });
    show("std::promise      ", by_promise);

    course::futures::ThreadPool pool(2);
    auto by_pool = pool.submit(fails, 7);
    show("ThreadPool::submit", by_pool);
    auto after = pool.submit(slowadd, 2, 3, s.delay);
    lesson.say("  the worker that ran the failing task lives on: submit(slowadd, 2, 3).get() = " +
               std::to_string(after.get()));
    lesson.say("A future that nobody calls get() on keeps its exception to itself: always collect "
               "every future, as when_all does.");
}

}  // namespace lesson03
