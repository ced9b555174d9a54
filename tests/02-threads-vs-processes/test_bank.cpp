// Tests of course::tvp::Bank: all-or-nothing transfers, no deadlock, no money lost.
#include <atomic>
#include <cstdint>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "course_catch.hpp"
#include "tvp.hpp"
#include "witness.hpp"

namespace tvp = course::tvp;
using namespace std::chrono_literals;

namespace tvp_test {
// A bank big enough that total() holds its locks for a while (a millisecond or so).
// ThreadSanitizer follows at most 64 locks held by one thread at once, so under it the
// bank stays small (the cases then catch the same mistakes less often, never wrongly).
#if defined(__SANITIZE_THREAD__)
inline constexpr std::size_t many_accounts = 60;
#else
inline constexpr std::size_t many_accounts = 20'000;
#endif
}  // namespace tvp_test

// Rule: "`size()` accounts holding `initial_balance` each".
TEST_CASE("a new bank holds the initial balance in every account") {
    tvp::Bank bank(5, 100);
    CHECK(bank.size() == 5);
    for (std::size_t i = 0; i < bank.size(); ++i) CHECK(bank.balance(i) == 100);
    CHECK(bank.total() == 500);
    CHECK_THROWS_AS(bank.balance(5), std::out_of_range);
}

// Rule: "A transfer is all or nothing: a negative amount (`std::invalid_argument`), an
// account that does not exist (`std::out_of_range`) or a payer with too little money
// (`insufficient_funds`) changes nothing".
TEST_CASE("transfer moves money and refuses what it cannot do without changing anything") {
    tvp::Bank bank(3, 100);
    bank.transfer(0, 1, 30);
    CHECK(bank.balance(0) == 70);
    CHECK(bank.balance(1) == 130);
    bank.transfer(1, 0, 130);   // the whole balance may go
    CHECK(bank.balance(1) == 0);
    CHECK(bank.balance(0) == 200);

    CHECK_THROWS_AS(bank.transfer(1, 2, 1), tvp::insufficient_funds);
    CHECK_THROWS_AS(bank.transfer(0, 2, -5), std::invalid_argument);
    CHECK_THROWS_AS(bank.transfer(0, 3, 5), std::out_of_range);
    CHECK_THROWS_AS(bank.transfer(7, 0, 5), std::out_of_range);
    CHECK(bank.balance(0) == 200);
    CHECK(bank.balance(1) == 0);
    CHECK(bank.balance(2) == 100);
    CHECK(bank.total() == 300);
}

// Rule: "a transfer from an account to itself changes nothing" (and takes its lock once).
TEST_CASE("a transfer from an account to itself changes nothing and does not hang") {
    tvp::Bank bank(2, 50);
    // Locking one std::mutex twice on one thread deadlocks (formally: undefined
    // behaviour); a transfer to self must take the account's lock once.
    tvp_test::finish_or_report_deadlock(20s, "transfer(1, 1, 20)", [&] { bank.transfer(1, 1, 20); });
    CHECK(bank.balance(1) == 50);
    CHECK_THROWS_AS(bank.transfer(1, 1, 51), tvp::insufficient_funds);
    CHECK(bank.total() == 100);
}

// Rule: "callable from any number of threads at once, in any direction, without ever
// deadlocking and without losing a cent"; "`total()` must see every transfer either
// entirely done or not started".
TEST_CASE("8 threads of 10k random transfers in every direction conserve the total") {
    constexpr std::size_t accounts = 10;
    constexpr std::int64_t initial = 1000;
    constexpr int n_threads = 8, transfers_each = 10'000;
    tvp::Bank bank(accounts, initial);

    std::atomic<long> done{0}, refused{0};
    std::atomic<bool> stop_auditing{false};
    std::atomic<long> audits{0}, bad_audits{0};
    tvp_test::finish_or_report_deadlock(30s, "8 threads x 10k transfers", [&] {
        std::vector<std::jthread> tellers;
        for (int t = 0; t < n_threads; ++t) {
            tellers.emplace_back([&, t] {
                // Each thread its own generator: random pairs, so every pair of accounts
                // is locked in both directions by different threads at the same time.
                std::mt19937 rng(unsigned(t) * 7919u + 1u);
                std::uniform_int_distribution<std::size_t> account(0, accounts - 1);
                std::uniform_int_distribution<std::int64_t> amount(0, 300);
                for (int i = 0; i < transfers_each; ++i) {
                    try {
                        bank.transfer(account(rng), account(rng), amount(rng));
                    } catch (const tvp::insufficient_funds&) {
                        refused.fetch_add(1, std::memory_order_relaxed);
                    }
                    done.fetch_add(1, std::memory_order_relaxed);
                }
            });
        }
        // An auditor reads the total while the transfers run: it must never see money
        // in flight (taken from one account and not yet given to the other).
        std::jthread auditor([&] {
            while (!stop_auditing.load()) {
                if (bank.total() != std::int64_t(accounts) * initial) bad_audits.fetch_add(1);
                audits.fetch_add(1);
                std::this_thread::yield();   // std::mutex is not fair: give the tellers a turn
            }
        });
        for (auto& t : tellers) t.join();
        stop_auditing = true;
    });

    CHECK(done.load() == long(n_threads) * transfers_each);
    CHECK(refused.load() < done.load());   // most transfers went through
    CHECK(bad_audits.load() == 0);
    CHECK(audits.load() > 0);
    CHECK(bank.total() == std::int64_t(accounts) * initial);
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < accounts; ++i) {
        CHECK(bank.balance(i) >= 0);
        sum += bank.balance(i);
    }
    CHECK(sum == std::int64_t(accounts) * initial);
}

// Rule: "`transfer(from, to, amount)` callable from any number of threads at once, in any
// direction, without ever deadlocking". Two threads pay 0 -> 1 while two pay 1 -> 0: a
// transfer that locks "from" first and then "to" deadlocks here (A holds 0 and waits for
// 1, B holds 1 and waits for 0); the case then fails after the limit, naming the deadlock.
TEST_CASE("transfers in opposite directions between the same two accounts never deadlock") {
    // Many rounds: two threads meet between their two locks only now and then (on a
    // loaded machine, when one is preempted right there), and each meeting deadlocks.
    constexpr int per_thread = 500'000;
    tvp::Bank bank(2, 1'000'000);
    tvp_test::finish_or_report_deadlock(30s, "4 threads transferring 0 -> 1 and 1 -> 0 at the same time", [&] {
        std::latch start(4);
        std::vector<std::jthread> tellers;
        for (int t = 0; t < 4; ++t)
            tellers.emplace_back([&, t] {
                start.arrive_and_wait();   // all four at once: the directions really cross
                for (int i = 0; i < per_thread; ++i) {
                    if (t % 2 == 0)
                        bank.transfer(0, 1, 1);
                    else
                        bank.transfer(1, 0, 1);
                }
            });
    });
    // As many cents went each way.
    CHECK(bank.balance(0) == 1'000'000);
    CHECK(bank.balance(1) == 1'000'000);
}

// Rule: "a payer with too little money (`insufficient_funds`) changes nothing" -- the
// balance check and the debit belong under the same lock. Four threads at a time try to
// take the whole balance of account 0; exactly one may succeed. An auditor keeps calling
// total(), which holds account 0's lock while it takes all the others, so that lock is
// held most of the time: a
// transfer that checks the balance before taking the lock sees the full balance, then
// queues for the lock behind the auditor together with the others, and all of them pay.
TEST_CASE("threads racing to spend the same balance never overdraw it") {
    constexpr std::size_t accounts = tvp_test::many_accounts;
    constexpr int spenders = 4, rounds = 200;
    constexpr std::int64_t initial = 100;
    tvp::Bank bank(accounts, initial);
    std::vector<int> winners_per_round;
    std::vector<std::int64_t> payer_balance_per_round;
    tvp_test::finish_or_report_deadlock(60s, "rounds of 4 threads spending one balance", [&] {
        std::atomic<bool> stop{false};
        std::jthread auditor([&] {
            while (!stop.load()) {
                (void)bank.total();
                std::this_thread::yield();   // std::mutex is not fair: give the spenders a turn
            }
        });
        for (int round = 0; round < rounds; ++round) {
            std::atomic<int> winners{0};
            std::vector<std::size_t> paid_to;
            std::mutex m;
            {
                std::latch start(spenders);
                std::vector<std::jthread> threads;
                for (int t = 1; t <= spenders; ++t)
                    threads.emplace_back([&, t] {
                        start.arrive_and_wait();
                        try {
                            bank.transfer(0, std::size_t(t), initial);   // the whole balance of account 0
                            winners.fetch_add(1);
                            std::lock_guard lock(m);
                            paid_to.push_back(std::size_t(t));
                        } catch (const tvp::insufficient_funds&) {
                        }
                    });
            }
            winners_per_round.push_back(winners.load());
            payer_balance_per_round.push_back(bank.balance(0));
            for (std::size_t to : paid_to) bank.transfer(to, 0, initial);   // back to the start (if it can)
        }
        stop = true;
    });
    CHECK(winners_per_round == std::vector<int>(rounds, 1));                 // exactly one paid each round
    CHECK(payer_balance_per_round == std::vector<std::int64_t>(rounds, 0));  // never below zero
    CHECK(bank.total() == std::int64_t(accounts) * initial);
}

// Rule: "`total()` must see every transfer either entirely done or not started". On a big
// bank, a total() that adds the balances one lock at a time reads account 0 long before
// the last account; a teller moving cents between those two in the meantime makes it
// count a cent twice or not at all. A total() that holds every lock at once cannot.
TEST_CASE("total on a big bank never counts a transfer half done") {
    constexpr std::size_t accounts = tvp_test::many_accounts;
    constexpr std::int64_t initial = 100;
    constexpr int audits = 300;
    tvp::Bank bank(accounts, initial);
    std::vector<std::int64_t> wrong_totals;
    tvp_test::finish_or_report_deadlock(60s, "a teller and an auditor on a big bank", [&] {
        std::atomic<bool> stop{false};
        std::latch start(2);
        std::jthread teller([&] {
            start.arrive_and_wait();
            // Cents go from the last account to account 0 and back, one at a time.
            for (long i = 0; !stop.load(); ++i) {
                bool back = (i / initial) % 2 == 1;
                bank.transfer(back ? 0 : accounts - 1, back ? accounts - 1 : 0, 1);
            }
        });
        start.arrive_and_wait();
        for (int a = 0; a < audits; ++a) {
            std::int64_t total = bank.total();
            if (total != std::int64_t(accounts) * initial) wrong_totals.push_back(total);
        }
        stop = true;
    });
    CHECK(wrong_totals.empty());   // totals seen with money in flight
    CHECK(bank.total() == std::int64_t(accounts) * initial);
}
