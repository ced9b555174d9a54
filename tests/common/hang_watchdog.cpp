// The hang watchdog of every test program: when a test case is still running
// COURSE_HANG_SECONDS after it started (CTest sets it a little below the case's TIMEOUT),
// it prints the stack of every thread and ends the process, so a deadlock is reported as
// "thread 2 waits in Channel::push (channel.hpp:57)" instead of a bare timeout.
//
// How: alarm() at start-up; the SIGALRM handler forks, and the child runs
// `gdb -batch -p <test pid> -ex "thread apply all bt"` (or elfutils' eu-stack) on the
// parent, whose threads are all still where they were stuck. Only async-signal-safe calls
// run in the handler. The child inherits an alarm of its own, so a debugger that cannot
// attach ends by itself. `./course check` reads the lines between the two markers.
//
// Without COURSE_HANG_SECONDS (running a test program by hand) nothing happens.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hang_watchdog.hpp"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace {

char g_pid[24];
char g_seconds[24];

void write_text(const char* text) {
    std::size_t left = std::strlen(text);
    while (left > 0) {
        ssize_t n = ::write(STDOUT_FILENO, text, left);
        if (n <= 0) return;
        text += n;
        left -= std::size_t(n);
    }
}

void print_stacks_and_stop(int) {
    if (g_seconds[0] != '\0') {
        write_text("\ncourse-hang-begin: this test case was still running after ");
        write_text(g_seconds);
        write_text(" s; the stack of every thread follows\n");
    } else {
        write_text("\ncourse-hang-begin: a thread stayed blocked; the stack of every thread follows\n");
    }
#if defined(__linux__)
    ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);   // let our child attach (Yama)
#endif
    pid_t child = ::fork();
    if (child == 0) {
        ::alarm(12);   // survives exec: a debugger that hangs is ended
        ::dup2(STDOUT_FILENO, STDERR_FILENO);
        ::execlp("gdb", "gdb", "-batch", "-nx", "-q", "-p", g_pid,
                 "-ex", "set print thread-events off", "-ex", "set print frame-arguments none",
                 "-ex", "thread apply all bt", static_cast<char*>(nullptr));
        ::execlp("eu-stack", "eu-stack", "-s", "-p", g_pid, static_cast<char*>(nullptr));
        write_text("(neither gdb nor eu-stack could run: install gdb to see where each thread waits)\n");
        ::_exit(127);
    }
    if (child > 0) {
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
    }
    write_text("course-hang-end\n");
    ::_exit(124);
}

void format_number(char* out, long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = char('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
    out[n] = '\0';
}

}  // namespace

void course::stop_with_thread_stacks(bool in_signal_handler) {
    if (!in_signal_handler) std::fflush(nullptr);   // stdio is not async-signal-safe
    format_number(g_pid, long(::getpid()));
    g_seconds[0] = '\0';
    print_stacks_and_stop(0);
    ::_exit(124);
}

namespace {

struct HangWatchdog {
    HangWatchdog() {
        const char* text = std::getenv("COURSE_HANG_SECONDS");
        if (text == nullptr) return;
        long seconds = std::strtol(text, nullptr, 10);
        if (seconds <= 0) return;
        format_number(g_pid, long(::getpid()));
        format_number(g_seconds, seconds);
        std::signal(SIGALRM, print_stacks_and_stop);
        ::alarm(unsigned(seconds));
    }
};

HangWatchdog watchdog;

}  // namespace
