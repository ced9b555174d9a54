// Section 3: items buffered at close: our channel keeps them; Boost 1.81's Asio channel
// does not.
#include <boost/version.hpp>
#include <stdexcept>
#include <string>
#include <tuple>

#if defined(__SANITIZE_THREAD__)
// Asio's handler fences (std::atomic_thread_fence) draw -Wtsan; this section drives an
// Asio channel from one thread only, so there is nothing for TSan to miss here.
#pragma GCC diagnostic ignored "-Wtsan"
#endif
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>

#include "parts.hpp"

namespace lesson04 {

using course::channels::Channel;

void buffered_at_close_section(course::Lesson& lesson, const Settings&) {
    lesson.section("3. Items buffered at close: kept, or dropped?");
    constexpr int sent = 100;
    lesson.say("Push " + std::to_string(sent) + " items into a channel of capacity 128 (none waits), close it,");
    lesson.say("then let the consumer take what it can.");

    // Ours: close() only stops pushes; pop() drains the buffer, then says "end".
    Channel<int> ours(128);
    for (int i = 0; i < sent; ++i) ours.push(i);
    ours.close();
    int ours_received = 0;
    while (ours.pop()) ++ours_received;

    // Asio's experimental channel (header-only Asio, no threads needed: try_send and
    // try_receive complete at once or not at all).
    boost::asio::io_context context;
    boost::asio::experimental::channel<void(boost::system::error_code, int)> asio_channel(context, 128);
    int asio_sent = 0;
    for (int i = 0; i < sent; ++i) asio_sent += asio_channel.try_send(boost::system::error_code{}, i) ? 1 : 0;
    asio_channel.close();
    int asio_received = 0;
    while (asio_channel.try_receive([&](boost::system::error_code ec, int) {
        if (!ec) ++asio_received;
    })) {
    }

    std::string boost_version = std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000);
    lesson.say("  course::channels::Channel                sent " + std::to_string(sent) + ", received after close " +
               std::to_string(ours_received));
    lesson.say("  asio::experimental::channel (Boost " + boost_version + ") sent " + std::to_string(asio_sent) +
               ", received after close " + std::to_string(asio_received));
    if (asio_received < asio_sent)
        lesson.say("  Boost " + boost_version + "'s close() marks the channel closed for receivers too: the " +
                   std::to_string(asio_sent - asio_received) +
                   " buffered items are never delivered (Boost 1.82 changed close() to keep them).");
    else
        lesson.say("  This Boost delivers buffered items after close(), like ours (Boost 1.82 and later do).");
    lesson.say("  A consumer that must see every item sent needs a close that means \"no more pushes\",");
    lesson.say("  not \"throw away what is queued\".");

    for (auto [variant, in, out] : {std::tuple{"course Channel", sent, ours_received},
                                    std::tuple{"asio experimental channel", asio_sent, asio_received}}) {
        course::Measurement m{.experiment = "buffered-at-close", .variant = variant, .n = std::size_t(in),
                              .ok = out == in};
        m.extra["sent"] = in;
        m.extra["received_after_close"] = out;
        m.extra["boost"] = boost_version;
        lesson.record(m);
    }
    if (ours_received != sent) throw std::runtime_error("Channel lost buffered items at close");
}

}  // namespace lesson04
