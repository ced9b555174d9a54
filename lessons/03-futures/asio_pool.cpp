// Section 2: Asio's thread pool. post() queues a function; with the use_future token it
// also hands back a std::future of the function's result: Python's submit, in Asio.
#include <future>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include "futures.hpp"
#include "parts.hpp"

namespace asio = boost::asio;
using course::Recorder;
using course::ResultTable;
using course::Stopwatch;
using course::futures::slowadd;

namespace lesson03 {

void asio_pool(course::Lesson& lesson, const Settings& s) {
    lesson.section("2. boost::asio::thread_pool + post + use_future");
    lesson.say("asio::post(pool, asio::use_future(fn)) queues fn on the pool's threads and returns a\n"
               "std::future of fn's result; pool.join() waits for the queue to drain.");
    const auto d = s.delay;
    Recorder rec;
    ResultTable table("asio-pool");
    Stopwatch w;
    bool ok = true;
    {
        asio::thread_pool pool(s.workers);
        std::vector<std::future<int>> futures;
        for (int i = 0; i < 8; ++i)
            futures.push_back(asio::post(pool, asio::use_future([i, d, &rec] {
                auto span = rec.span("slowadd(" + std::to_string(i) + ")");
                return slowadd(i, i, d);
            })));
        for (int i = 0; i < 8; ++i) ok = ok && futures[i].get() == 2 * i;
        pool.join();   // the pool's threads end here; its destructor would also stop them
    }
    table.add({.variant = "asio post + use_future", .n = 8, .seconds = w.seconds(),
               .bound_seconds = waves_bound(8, s.workers, d), .bound = "ceil(8/P)*d",
               .workers = s.workers, .ok = ok});
    lesson.report(table);
    lesson.timeline(rec, "asio-pool");
}

}  // namespace lesson03
