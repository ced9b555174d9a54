// Topic 08: the seed's loader, end to end. Gzip JSON-lines files become Paper records
// that many producers push into ONE bounded channel, read by one consumer.
//
//   serial       1 producer thread:   file 0, file 1, file 2, ...        --+
//   threaded     W producer threads:  each takes the next file           --+--> Channel<Paper> --> consumer
//   distributed  1 reader thread <--pipes-- W worker processes (forked,  --+    (capacity 1024)   (take(n), or
//                (pushes for them)          reused across files)                                   drains to the end)
//
// Every loader returns a LoadHandle at once; the loading happens while the consumer
// pops. The channel closes exactly once, after the last file is done, so `for (auto&
// paper : handle.channel())` ends by itself. A file that fails (corrupt gzip, a
// malformed line) is recorded in handle.errors() with its file and line; the other
// files still load completely.
//
// What you write (exercises/08-distributed-loading/loading.cpp): tokenize_abstract,
// parse_paper, load_paper_data and the three loaders. What is given (this header):
// Paper, the error types, ErrorLog and LoadHandle (the C++ twin of Julia's
// `Channel(f) do ch ... end`: a channel plus the task that fills it).
#pragma once

#include <cstddef>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "channel.hpp"   // topic 04's solution: course::channels::Channel
#include "common/timeline.hpp"

namespace course::loading {

using channels::Channel;
using channels::channel_closed;

// One paper of the corpus: the four fields the seed keeps.
struct Paper {
    std::string title;
    std::vector<std::string> authors;                        // the authors' names
    int year = 0;
    std::vector<std::vector<std::string>> abstract_tokens;   // sentences, each a list of tokens
    long loaded_by = 0;   // debug: pid of the process that parsed it (not compared)

    // Equality and order over the four fields, so tests can compare multisets.
    auto key() const { return std::tie(title, authors, year, abstract_tokens); }
    friend bool operator==(const Paper& a, const Paper& b) { return a.key() == b.key(); }
    friend bool operator<(const Paper& a, const Paper& b) { return a.key() < b.key(); }
};

// parse_paper's error: the line is not JSON, or a field has the wrong type.
class paper_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What went wrong with one file. line is 1-based (0: not tied to one line, e.g. the
// file could not be opened or a worker process died). message is the whole story and
// names the file. recovered: the loader repaired it (a crashed worker's file was
// reloaded elsewhere) and nothing is missing.
struct LoadError {
    std::string file;
    std::size_t line = 0;
    std::string message;
    bool recovered = false;
};

// Thrown by load_paper_data when a file fails, after the file's good papers before
// the failure were pushed.
class load_error : public std::runtime_error {
public:
    explicit load_error(LoadError details) : std::runtime_error(details.message), details_(std::move(details)) {}
    const LoadError& details() const { return details_; }
    const std::string& file() const { return details_.file; }
    std::size_t line() const { return details_.line; }

private:
    LoadError details_;
};

// The errors of one load, added by any producer thread, read by the consumer.
class ErrorLog {
public:
    void add(LoadError error) {
        std::lock_guard lock(mutex_);
        errors_.push_back(std::move(error));
    }
    std::vector<LoadError> list() const {
        std::lock_guard lock(mutex_);
        return errors_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<LoadError> errors_;
};

// A channel and the thread that fills it: Julia's `Channel(f)`. The constructor starts
// `driver(channel, errors, stop)` on a thread of its own; when the driver returns (or
// throws) the channel is closed: so a driver must return only after every producer it
// started is done. The driver ending with channel_closed (the consumer closed early)
// is normal; any other exception becomes an error in errors().
//
// close() (also run by the destructor) cancels: it requests stop, closes the channel,
// so every push throws channel_closed, and joins the driver, which must then end its
// threads and child processes. After close() returns nothing of the load is running.
// Call close() and the destructor from the consumer's thread.
class LoadHandle {
public:
    using Driver = std::function<void(Channel<Paper>& out, ErrorLog& errors, std::stop_token stop)>;

    LoadHandle(std::size_t capacity, Driver driver) : state_(std::make_unique<State>(capacity)) {
        State* s = state_.get();
        s->driver = std::jthread([s, run = std::move(driver)](std::stop_token stop) {
            try {
                run(*s->channel, s->errors, stop);
            } catch (const channel_closed&) {
                // The consumer closed the channel: the load was cancelled, not broken.
            } catch (const std::exception& e) {
                s->errors.add({.message = std::string("the loader stopped: ") + e.what()});
            } catch (...) {
                s->errors.add({.message = "the loader stopped: unknown exception"});
            }
            s->channel->close();   // after every producer: the consumer's loop ends here
        });
    }
    LoadHandle(LoadHandle&&) noexcept = default;
    LoadHandle& operator=(LoadHandle&& other) noexcept {
        if (this != &other) {
            close();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    ~LoadHandle() { close(); }

    Channel<Paper>& channel() const { return *state_->channel; }
    std::shared_ptr<Channel<Paper>> shared_channel() const { return state_->channel; }

    // Complete once the channel has ended (pop returned empty) or after close().
    std::vector<LoadError> errors() const { return state_->errors.list(); }

    void close() {
        if (!state_ || !state_->driver.joinable()) return;
        state_->driver.request_stop();
        state_->channel->close();
        state_->driver.join();
    }

private:
    struct State {
        explicit State(std::size_t capacity) : channel(std::make_shared<Channel<Paper>>(capacity)) {}
        std::shared_ptr<Channel<Paper>> channel;
        ErrorLog errors;
        std::jthread driver;   // last: its thread uses the members above
    };
    std::unique_ptr<State> state_;
};

struct LoaderOptions {
    unsigned workers = 2;          // producer threads (threaded) or worker processes (distributed)
    std::size_t capacity = 1024;   // of the channel
    Recorder* recorder = nullptr;  // when set: one span per file on the lane of whoever loaded it

    // Test hook (distributed only): each of the first `crash_workers` worker processes
    // started sends `crash_after_papers` papers, half of one more message, then raises
    // SIGKILL. 0 = never.
    std::size_t crash_after_papers = 0;
    unsigned crash_workers = 1;
};

// An abstract as sentences of tokens. A sentence ends with a token "." "!" or "?" at
// the end of a word; tokens are the words between spaces, with leading ( [ { " ' and
// trailing ) ] } " ' . , ; : ! ? split off as tokens of their own:
//   "Cells grew (n = 5). It worked, twice!" ->
//   {{"Cells", "grew", "(", "n", "=", "5", ")", "."}, {"It", "worked", ",", "twice", "!"}}
std::vector<std::vector<std::string>> tokenize_abstract(std::string_view text);

// One corpus line -> a Paper. nullopt for a record the seed skips: no "title",
// "authors", "year" or "paperAbstract" (or null), no authors, or an abstract without
// tokens. Throws paper_error for a line that is not a JSON object, or whose fields
// have the wrong types (year not an integer, authors not a list of {"name": ...}).
std::optional<Paper> parse_paper(std::string_view json_line);

// Pushes every paper of one gzip JSON-lines file into `out`, in file order, with
// loaded_by = this process's pid; returns how many. Throws load_error (file and line)
// after pushing the papers before the bad spot; channel_closed passes through. With a
// recorder: one span named after the file.
std::size_t load_paper_data(Channel<Paper>& out, const std::filesystem::path& file,
                            Recorder* recorder = nullptr);

// The files one after another on one producer thread.
LoadHandle serial_channel_load(std::vector<std::filesystem::path> files, std::size_t capacity = 1024,
                               Recorder* recorder = nullptr);

// One producer per file on a pool of options.workers threads (each takes the next file).
LoadHandle threaded_channel_load(std::vector<std::filesystem::path> files, LoaderOptions options = {});

// options.workers forked worker processes, reused across files, each loading whole
// files and streaming the papers back over a socket; the parent pushes them into the
// channel. A worker that dies mid-file: its file is reloaded once on a fresh worker,
// resuming after the papers already delivered, and every other file still loads
// (LoadError with recovered = true, its message naming the signal and the papers
// delivered); if that worker dies too, the file is reported failed (recovered = false,
// "giving up") and only the papers delivered before stay delivered.
LoadHandle distributed_channel_load(std::vector<std::filesystem::path> files, LoaderOptions options = {});

}  // namespace course::loading
