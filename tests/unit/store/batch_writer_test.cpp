#include "server/store/batch_writer.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "tests/support/store_fixtures.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using testing::KeyOf;

std::unique_ptr<KcStore> OpenOrDie(const std::string& dir, bool fsync) {
  KcStoreOptions options;
  options.fsync = fsync;
  return testing::OpenOrDie(dir, options);
}

TEST_CASE("the batch writer groups queued batches and answers every one", "[store][writer]") {
  const bool fsync = GENERATE(false, true);
  INFO("fsync " << fsync);
  testing::TempDir dir;
  auto store = OpenOrDie(dir.path(), fsync);
  std::mutex mu;
  std::vector<uint64_t> acked;
  std::vector<std::string> errors;
  SliceStats single_stats;
  {
    BatchWriter writer(*store, /*start_paused=*/true);
    for (uint64_t b = 0; b < 10; ++b) {
      BatchRequest request{"s", 1 + 3 * b, "kid", {}};
      for (uint32_t u = 0; u < 3; ++u) {
        request.events.push_back({1, KeyOf(static_cast<uint32_t>(3 * b + u)), Action::kClick});
      }
      writer.Submit(std::move(request), [&](Result<BatchOutcome> r) {
        std::lock_guard lock(mu);
        if (r.ok()) {
          acked.push_back(r->acked_seq);
        } else {
          errors.push_back(r.status().message());
        }
      });
    }
    // A gap is answered with its typed refusal, the others still apply.
    writer.Submit({"s", 99, "kid", {{1, KeyOf(0), Action::kClick}}}, [&](Result<BatchOutcome> r) {
      std::lock_guard lock(mu);
      if (!r.ok()) {
        errors.push_back(r.status().message());
      } else if (r->verdict == BatchVerdict::kGap) {
        errors.push_back("gap, expected " + std::to_string(r->expected_seq));
      } else {
        errors.push_back("applied");
      }
    });
    writer.SubmitSingle(1, KeyOf(0), Action::kImpression, [&](Result<SliceStats> r) {
      std::lock_guard lock(mu);
      if (r.ok()) single_stats = *r;
    });
    CHECK(writer.QueueDepth() == 12);
    writer.Start();
    writer.Stop();
    CHECK(writer.GetStats().groups == 1);
    CHECK(writer.GetStats().batches == 11);
    CHECK(writer.GetStats().singles == 1);

    std::optional<Status::Code> late_answer;
    writer.Submit({"s", 31, "kid", {}},
                  [&](Result<BatchOutcome> r) { late_answer = r.status().code(); });
    CHECK(late_answer == Status::Code::kUnavailable);
  }
  CHECK(acked == std::vector<uint64_t>{3, 6, 9, 12, 15, 18, 21, 24, 27, 30});
  CHECK(errors == std::vector<std::string>{"gap, expected 31"});
  CHECK(single_stats == SliceStats{30, 30, 1});
  CHECK(store->StatsFor(1) == SliceStats{30, 30, 1});

  // In fsync mode everything acknowledged is in the log or in synced Kyoto.
  store.reset();
  store = OpenOrDie(dir.path(), fsync);
  CHECK(store->StatsFor(1) == SliceStats{30, 30, 1});
}

TEST_CASE("the batch writer applies batches submitted from several threads", "[store][writer]") {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.path(), false);
  std::atomic<int> answered{0};
  {
    BatchWriter writer(*store);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        // Each thread its own stream, in order, as an API node would send.
        for (uint64_t b = 0; b < 20; ++b) {
          BatchRequest request{"stream" + std::to_string(t),
                               1 + b,
                               "kid",
                               {{t, KeyOf(static_cast<uint32_t>(b)), Action::kClick}}};
          writer.Submit(std::move(request), [&](Result<BatchOutcome> r) {
            if (r.ok()) answered.fetch_add(1);
          });
        }
      });
    }
    for (auto& thread : threads) thread.join();
    writer.Stop();
  }
  CHECK(answered.load() == 80);
  for (int t = 0; t < 4; ++t) CHECK(store->StatsFor(t) == SliceStats{20, 20, 0});
}

TEST_CASE("an idle writer without fsync applies on the submitting thread", "[store][writer]") {
  const bool fsync = GENERATE(false, true);
  INFO("fsync " << fsync);
  testing::TempDir dir;
  auto store = OpenOrDie(dir.path(), fsync);
  BatchWriter writer(*store);
  std::mutex mu;
  std::vector<std::thread::id> answered_on;
  std::vector<bool> answered_ok;
  auto answered = [&](bool ok) {
    std::lock_guard lock(mu);
    answered_on.push_back(std::this_thread::get_id());
    answered_ok.push_back(ok);
  };
  auto answers = [&] {
    std::lock_guard lock(mu);
    return answered_on.size();
  };
  for (uint64_t b = 0; b < 5; ++b) {
    writer.Submit({"s", 1 + b, "kid", {{1, KeyOf(static_cast<uint32_t>(b)), Action::kClick}}},
                  [&](Result<BatchOutcome> r) { answered(r.ok()); });
    // Wait for the answer, as an API node does before sending the next batch.
    REQUIRE(testing::WaitFor([&] { return answers() == b + 1; }));
  }
  writer.SubmitSingle(1, KeyOf(0), Action::kImpression,
                      [&](Result<SliceStats> r) { answered(r.ok()); });
  writer.Stop();
  REQUIRE(answered_on.size() == 6);
  CHECK(answered_ok == std::vector<bool>(6, true));
  for (const std::thread::id id : answered_on) {
    CHECK((id == std::this_thread::get_id()) == !fsync);
  }
  CHECK(writer.GetStats().batches == 5);
  CHECK(writer.GetStats().singles == 1);
  CHECK(store->StatsFor(1) == SliceStats{5, 5, 1});
}

}  // namespace
}  // namespace rt

namespace rt {
namespace {

BatchRequest BatchOf(uint64_t first_seq, uint32_t events) {
  BatchRequest request{"s", first_seq, "kid", {}};
  for (uint32_t u = 0; u < events; ++u) {
    request.events.push_back(
        {1, testing::KeyOf(static_cast<uint32_t>(first_seq + u)), Action::kImpression});
  }
  return request;
}

TEST_CASE("a full writer queue refuses a submission without calling it back",
          "[store][writer][bounds]") {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.path(), false);
  std::atomic<int> answered{0};
  BatchWriter writer(*store, /*start_paused=*/true, /*max_queued_events=*/10);
  // An empty queue takes a batch larger than the bound.
  CHECK(writer.Submit(BatchOf(1, 12), [&](Result<BatchOutcome> r) { answered += r.ok(); }));
  CHECK(writer.QueuedEvents() == 12);
  bool called = false;
  CHECK_FALSE(writer.Submit(BatchOf(13, 1), [&](Result<BatchOutcome>) { called = true; }));
  CHECK_FALSE(
      writer.SubmitSingle(1, testing::KeyOf(0), Action::kClick, [&](auto) { called = true; }));
  CHECK_FALSE(called);
  CHECK(writer.QueueDepth() == 1);

  // Drained, the queue takes work again up to the bound.
  writer.Start();
  REQUIRE(testing::WaitFor([&] { return answered.load() == 1; }, std::chrono::seconds(20)));
  CHECK(store->StatsFor(1) == SliceStats{12, 0, 12});
  CHECK(writer.QueuedEvents() == 0);
}

TEST_CASE("a bounded writer queue counts events, not batches", "[store][writer][bounds]") {
  testing::TempDir dir;
  auto store = OpenOrDie(dir.path(), false);
  std::atomic<int> answered{0};
  BatchWriter writer(*store, /*start_paused=*/true, /*max_queued_events=*/10);
  CHECK(writer.Submit(BatchOf(1, 6), [&](Result<BatchOutcome> r) { answered += r.ok(); }));
  CHECK_FALSE(writer.Submit(BatchOf(7, 5), [&](Result<BatchOutcome>) { answered += 100; }));
  CHECK(writer.Submit(BatchOf(7, 4), [&](Result<BatchOutcome> r) { answered += r.ok(); }));
  CHECK(writer.QueuedEvents() == 10);
  CHECK_FALSE(writer.SubmitSingle(2, testing::KeyOf(1), Action::kClick,
                                  [&](Result<SliceStats>) { answered += 100; }));
  writer.Start();
  REQUIRE(testing::WaitFor([&] { return answered.load() >= 2; }, std::chrono::seconds(20)));
  CHECK(answered.load() == 2);
  CHECK(store->StatsFor(1) == SliceStats{10, 0, 10});
}

TEST_CASE("a failed batch log write is fatal: nothing is acknowledged, later writes are refused",
          "[store][writer][disk]") {
  testing::TempDir dir;
  // Every write to the log fails with ENOSPC, as on a full disk; opening and replaying
  // the (empty) log still work.
  std::filesystem::create_symlink("/dev/full", dir.Sub("batches.log"));
  auto store = OpenOrDie(dir.path(), /*fsync=*/true);
  std::mutex mu;
  std::vector<Status> fatal;
  std::vector<Result<BatchOutcome>> answers;
  {
    BatchWriter writer(*store, /*start_paused=*/false, BatchWriter::kDefaultMaxQueuedEvents,
                       [&](const Status& status) {
                         std::lock_guard lock(mu);
                         fatal.push_back(status);
                       });
    writer.Submit({"s", 1, "kid", {{1, KeyOf(1), Action::kClick}}}, [&](Result<BatchOutcome> r) {
      std::lock_guard lock(mu);
      answers.push_back(std::move(r));
    });
    REQUIRE(testing::WaitFor([&] {
      std::lock_guard lock(mu);
      return answers.size() == 1;
    }));
    // After the fatal error nothing is applied or acknowledged any more.
    writer.Submit({"s", 2, "kid", {{1, KeyOf(2), Action::kClick}}}, [&](Result<BatchOutcome> r) {
      std::lock_guard lock(mu);
      answers.push_back(std::move(r));
    });
  }
  REQUIRE(fatal.size() == 1);
  CHECK(fatal[0].code() == Status::Code::kUnavailable);
  REQUIRE(answers.size() == 2);
  CHECK_FALSE(answers[0].ok());
  CHECK_FALSE(answers[1].ok());
  // Logged before it is written: a batch whose log write failed never reached Kyoto.
  CHECK(store->StatsFor(1) == SliceStats{});
  CHECK(store->StoredMark("s").value() == 0);
}

TEST_CASE("by default a failed batch log write exits the process with 1 and one line",
          "[store][writer][disk]") {
  testing::TempDir dir;
  std::filesystem::create_symlink("/dev/full", dir.Sub("batches.log"));
  const std::string err_path = dir.Sub("stderr.txt");
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err < 0 || ::dup2(err, STDERR_FILENO) < 0) _exit(3);
    KcStoreOptions options;
    options.fsync = true;
    options.buckets = 1 << 12;
    options.map_bytes = 1 << 20;
    auto store = KcStore::Open(dir.path(), options);
    if (!store.ok()) _exit(4);
    BatchWriter writer(**store);
    writer.Submit({"s", 1, "kid", {{1, KeyOf(1), Action::kClick}}},
                  [](Result<BatchOutcome>) { _exit(5); });  // never acknowledged
    writer.Stop();
    _exit(6);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  std::ifstream in(err_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(text);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}

}  // namespace
}  // namespace rt
