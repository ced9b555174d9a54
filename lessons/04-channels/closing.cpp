// Section 2: many producers, and who closes the channel.
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "parts.hpp"

namespace lesson04 {

using course::channels::Channel;
using course::channels::channel_closed;

namespace {

// Producer k sends (k + 1) * per_unit items: they finish at different times, like the
// seed's files of different sizes.
std::size_t items_of(unsigned k, std::size_t per_unit) { return (k + 1) * per_unit; }

enum class Closing { after_first, after_last_counter };

// P producer threads push into one channel; who closes it is the question.
//   after_first:        the first producer to finish closes (a guess that "done" means
//                       everyone is done): the others' later pushes throw channel_closed.
//   after_last_counter: a shared counter of running producers; whoever brings it to 0
//                       closes, exactly once, after the last push of the last producer.
std::size_t run_closing(Closing how, unsigned producers, std::size_t per_unit, course::Recorder* rec) {
    Channel<int> channel(64);
    std::atomic<unsigned> running{producers};
    std::atomic<bool> closed_once{false};
    std::vector<std::jthread> threads;
    for (unsigned k = 0; k < producers; ++k)
        threads.emplace_back([&, k] {
            auto start = course::Clock::now();
            try {
                for (std::size_t i = 0; i < items_of(k, per_unit); ++i) channel.push(int(i));
            } catch (const channel_closed&) {
                // closed under our feet: the guess was wrong, our remaining items are lost
            }
            if (how == Closing::after_first) {
                if (!closed_once.exchange(true)) channel.close();
            } else if (running.fetch_sub(1) == 1) {
                channel.close();   // the last one out closes
            }
            std::string name = "producer " + std::to_string(k + 1);
            if (rec) rec->record_on(name, name, start, course::Clock::now());
        });
    std::size_t received = 0;
    auto start = course::Clock::now();
    for ([[maybe_unused]] int item : channel) ++received;
    if (rec) rec->record_on("consumer", "consumer", start, course::Clock::now());
    return received;   // the jthreads join here
}

}  // namespace

void many_producers_section(course::Lesson& lesson, const Settings& s) {
    lesson.section("2. Many producers, one consumer: close exactly once, after the last producer");
    const unsigned p = s.producers;
    // A fifth of --items in all: four producers fighting for one mutex are slow.
    const std::size_t per_unit = std::max<std::size_t>(s.items / 5 / (std::size_t(p) * (p + 1) / 2), 100);
    std::size_t sent = 0;
    for (unsigned k = 0; k < p; ++k) sent += items_of(k, per_unit);
    lesson.say(std::to_string(p) + " producers send " + std::to_string(sent) +
               " items in all (producer k sends k x " + std::to_string(per_unit) +
               "), into one channel of capacity 64.");
    lesson.say("The consumer's loop `for (int item : channel)` ends only when the channel is closed.");
    double reference = one_thread_channel_seconds(sent, s.repeats);

    course::ResultTable table("closing");
    course::Recorder rec;
    auto add = [&](std::string variant, Closing how, course::Recorder* r) {
        std::size_t received = 0;
        double seconds = course::time_seconds([&] { received = run_closing(how, p, per_unit, r); });
        auto& row = table.add({.variant = std::move(variant), .n = received, .seconds = seconds,
                               .bound_seconds = reference * double(received) / double(sent),
                               .bound = "1-thread push+pop", .workers = p + 1, .ok = received == sent});
        row.extra["sent"] = sent;
        row.extra["received"] = received;
    };
    add("close after first (the bug, on purpose)", Closing::after_first, nullptr);
    add("close after last", Closing::after_last_counter, &rec);
    {
        // The same with the topic's merge(): the counter lives inside it.
        std::vector<std::function<void(Channel<int>&)>> jobs;
        for (unsigned k = 0; k < p; ++k)
            jobs.push_back([k, per_unit](Channel<int>& out) {
                for (std::size_t i = 0; i < items_of(k, per_unit); ++i) out.push(int(i));
            });
        std::size_t received = 0;
        double seconds = course::time_seconds([&] {
            auto channel = course::channels::merge(std::move(jobs), 64);
            for ([[maybe_unused]] int item : *channel) ++received;
        });
        auto& row = table.add({.variant = "merge()", .n = received, .seconds = seconds,
                               .bound_seconds = reference * double(received) / double(sent),
                               .bound = "1-thread push+pop", .workers = p + 1, .ok = received == sent});
        row.extra["sent"] = sent;
        row.extra["received"] = received;
    }
    lesson.report(table);
    for (auto& row : table.rows())
        lesson.say("  " + row.variant + ": received " + std::to_string(row.n) + " of " + std::to_string(sent) +
                   (row.ok ? "" : "  <- on purpose: the lesson's own wrong closing, not your code; the other producers' "
                                 "items were refused after the early close"));
    lesson.say("  n counts the items received; the bound is one thread pushing and popping that many.");
    lesson.say("\nWho ran when (close after last): the consumer ends right after the last producer.");
    lesson.timeline(rec, "closing");
}

}  // namespace lesson04
