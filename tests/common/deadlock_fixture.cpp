// A test program that deadlocks on purpose, for the hang watchdog's own test
// (check_hang_stacks.py): two threads take two mutexes in opposite orders, and a latch
// makes sure each holds its first lock before it asks for the second, so the deadlock
// happens on every run. The watchdog must then name both functions and their lines.
#include <latch>
#include <mutex>
#include <thread>

#include "course_catch.hpp"

namespace {

std::mutex accounts_lock;
std::mutex audit_lock;
std::latch both_hold_one(2);

void transfer_then_audit() {
    std::lock_guard first(accounts_lock);
    both_hold_one.arrive_and_wait();
    std::lock_guard second(audit_lock);   // waits for audit_then_transfer: never
}

void audit_then_transfer() {
    std::lock_guard first(audit_lock);
    both_hold_one.arrive_and_wait();
    std::lock_guard second(accounts_lock);   // waits for transfer_then_audit: never
}

}  // namespace

TEST_CASE("two locks taken in opposite orders deadlock") {
    std::thread a(transfer_then_audit);
    std::thread b(audit_then_transfer);
    a.join();
    b.join();
    SUCCEED("unreachable: the two threads wait for each other");
}
