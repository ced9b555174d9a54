// The async loader: the seed's `@sync for fn in files; @async load(ch, fn); end`. One
// task per file, all on ONE thread (an Asio io_context run by the handle's thread),
// taking turns after every line:
//
//   thread |f0 f1 f2 ... f39 f0 f1 f2 ... f39 f0 ...|     (one line of each file in turn)
//
// Taking turns only helps when a task has something to wait for (a disk seek, a
// socket). Here every step is decompress + parse, pure CPU, so the thread is never
// idle and the interleaving gains nothing: the seed saw the same (836 s vs 841 s).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "parts.hpp"

namespace lesson08 {

namespace asio = boost::asio;
using course::loading::Channel;
using course::loading::ErrorLog;
using course::loading::LoadHandle;
using course::loading::Paper;

namespace {

// One file's task. A named coroutine taking its parameters by value: a capturing
// lambda used as a coroutine would lose its captures at the first suspension.
asio::awaitable<void> load_file_task(Channel<Paper>* out, ErrorLog* errors, fs::path file, ParseFn parse,
                                     course::Recorder* recorder, std::string lane) {
    const auto start = course::Clock::now();
    PaperLines lines(file, parse);
    for (std::optional<Paper> paper; lines.next(paper);) {
        if (paper) out->push(std::move(*paper));   // channel_closed ends the task (and the load)
        // Take turns: every other file's task runs one step before this one goes on.
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    if (lines.error()) errors->add(*lines.error());
    if (recorder) recorder->record_on(lane, file.filename().string(), start, course::Clock::now());
}

}  // namespace

LoadHandle async_channel_load(std::vector<fs::path> files, std::size_t capacity, course::Recorder* recorder,
                              ParseFn parse) {
    return LoadHandle(capacity, [files = std::move(files), recorder, parse](Channel<Paper>& out, ErrorLog& errors,
                                                                            std::stop_token) {
        asio::io_context context(1);   // one thread: this one
        std::exception_ptr failure;
        for (std::size_t i = 0; i < files.size(); ++i) {
            // Only the first six tasks are drawn: 40 rows of "everyone all the time" say no more.
            course::Recorder* r = i < 6 ? recorder : nullptr;
            asio::co_spawn(context, load_file_task(&out, &errors, files[i], parse, r, "task " + std::to_string(i + 1)),
                           [&](std::exception_ptr e) {
                               // channel_closed (the consumer stopped) or a real failure: stop
                               // every task; io_context's destructor frees their frames.
                               if (e && !failure) {
                                   failure = e;
                                   context.stop();
                               }
                           });
        }
        context.run();   // returns when every task is done: the @sync
        if (failure) std::rethrow_exception(failure);
    });
}

}  // namespace lesson08
