// For tests that detect a stuck thread themselves (a bounded wait that ran out): print
// the stack of every thread, as the hang watchdog does (hang_watchdog.cpp), and end the
// test program with status 124. `./course check` shows where each thread waits.
#pragma once

namespace course {
// From a signal handler pass true: only async-signal-safe calls are made then.
[[noreturn]] void stop_with_thread_stacks(bool in_signal_handler = false);
}
