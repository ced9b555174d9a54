// Tests of course::tvp::Bank: all-or-nothing transfers, no deadlock, no money lost.
#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "course_catch.hpp"
#include "tvp.hpp"
#include "witness.hpp"

namespace tvp = course::tvp;
using namespace std::chrono_literals;

TEST_CASE("a new bank holds the initial balance in every account") {
    tvp::Bank bank(5, 100);
    CHECK(bank.size() == 5);
    for (std::size_t i = 0; i < bank.size(); ++i) CHECK(bank.balance(i) == 100);
    CHECK(bank.total() == 500);
    CHECK_THROWS_AS(bank.balance(5), std::out_of_range);
}

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

TEST_CASE("a transfer from an account to itself changes nothing and does not hang") {
    tvp::Bank bank(2, 50);
    // Locking one std::mutex twice on one thread deadlocks (formally: undefined
    // behaviour); a transfer to self must take the account's lock once.
    tvp_test::finish_or_report_deadlock(20s, "transfer(1, 1, 20)", [&] { bank.transfer(1, 1, 20); });
    CHECK(bank.balance(1) == 50);
    CHECK_THROWS_AS(bank.transfer(1, 1, 51), tvp::insufficient_funds);
    CHECK(bank.total() == 100);
}

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
