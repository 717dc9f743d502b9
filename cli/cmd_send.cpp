// rtctl send: one event, or a bounded, rate-limited stream of events with a
// summary, to an API node.
#include <memory>
#include <random>
#include <thread>

#include "cli/client_commands.h"
#include "cli/commands.h"
#include "cli/send_summary.h"
#include "cli/stream_events.h"
#include "cli/token_bucket.h"

namespace rt::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr auto kProgressInterval = std::chrono::milliseconds(250);

std::string EventPath(int64_t timestamp, const std::string& user, bool click) {
  std::string path = "/analytics?timestamp=";
  path += std::to_string(timestamp);
  path += "&user=";
  path += EncodeQueryValue(user);
  path += click ? "&click" : "&impression";
  return path;
}

int SendOne(const SendOptions& options, const std::string& api, const ClientIo& io) {
  if (options.user.empty()) {
    io.err << "rtctl send: --user is required (or --count N for a stream)\n";
    return kExitUsage;
  }
  if (!options.click && !options.impression) {
    io.err << "rtctl send: one of --click or --impression is required\n";
    return kExitUsage;
  }
  HttpClient client(api, ToHttpClientOptions(options.client));
  const int64_t timestamp = TimestampOrNow(options.timestamp, options.seconds, io.clock);
  Result<HttpResponse> response = client.Post(EventPath(timestamp, options.user, options.click));
  if (!response.ok()) {
    io.err << "rtctl send: " << response.status().message() << "\n";
    return kExitFailure;
  }
  if (response->status < 200 || response->status >= 300) {
    io.err << "rtctl send: " << DescribeHttpError(*response) << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

void PrintProgress(const SendSummary& summary, uint64_t total, SteadyClock::duration elapsed,
                   std::ostream& err) {
  const double seconds = std::chrono::duration<double>(elapsed).count();
  const double rate = seconds > 0 ? static_cast<double>(summary.sent()) / seconds : 0;
  err << "\rsent " << summary.sent() << "/" << total << "  accepted " << summary.accepted()
      << "  rejected " << summary.rejected() << "  " << static_cast<uint64_t>(rate)
      << " events/s\033[K" << std::flush;
}

int SendStream(const SendOptions& options, const std::string& api, const ClientIo& io) {
  const uint64_t total = *options.count;
  const uint64_t seed = options.seed ? *options.seed : std::random_device{}();
  StreamEvents events(seed, options.users, options.user, options.click, options.impression);

  HttpClient client(api, ToHttpClientOptions(options.client));
  SendSummary summary;
  summary.Reserve(total);
  const SteadyClock::time_point start = SteadyClock::now();
  std::optional<TokenBucket> bucket;
  if (options.rate > 0) bucket.emplace(options.rate, DefaultBurst(options.rate), start);
  SteadyClock::time_point next_progress = start + kProgressInterval;
  bool progress_shown = false;

  for (uint64_t i = 0; i < total; ++i) {
    if (bucket) {
      const SteadyClock::duration wait = bucket->Take(SteadyClock::now());
      if (wait > SteadyClock::duration::zero()) std::this_thread::sleep_for(wait);
    }
    const StreamEvent event = events.Next();
    const int64_t timestamp = TimestampOrNow(options.timestamp, options.seconds, io.clock);

    const SteadyClock::time_point sent_at = SteadyClock::now();
    Result<HttpResponse> response = client.Post(EventPath(timestamp, event.user, event.click));
    const SteadyClock::time_point answered_at = SteadyClock::now();
    if (!response.ok()) {
      // The node is gone or unreachable: every further event would fail the same way.
      summary.RecordFailure();
      if (progress_shown) io.err << "\n";
      progress_shown = false;
      io.err << "rtctl send: " << response.status().message() << "\n";
      break;
    }
    summary.RecordAnswer(response->status, answered_at - sent_at,
                         response->status >= 300 ? DescribeHttpError(*response) : std::string());
    if (io.err_is_terminal && answered_at >= next_progress) {
      PrintProgress(summary, total, answered_at - start, io.err);
      progress_shown = true;
      next_progress = answered_at + kProgressInterval;
    }
  }
  const SteadyClock::duration elapsed = SteadyClock::now() - start;
  if (progress_shown) {
    PrintProgress(summary, total, elapsed, io.err);
    io.err << "\n";
  }
  for (const auto& [status, count] : summary.rejected_by_status()) {
    io.err << "rtctl send: " << count
           << " rejected, first: " << summary.first_reason_by_status().at(status) << "\n";
  }
  io.out << summary.Format(elapsed) << "seed," << seed << "\n";
  return summary.accepted() == summary.sent() ? kExitOk : kExitFailure;
}

}  // namespace

int RunSend(const SendOptions& options, const ClientIo& io) {
  const std::optional<std::string> api = ResolveApiUrl(options.client);
  if (!api) return ReportMissingApi("send", io.err);
  return options.count ? SendStream(options, *api, io) : SendOne(options, *api, io);
}

CommandRunner SetupSend(CLI::App& app) {
  auto options = std::make_shared<SendOptions>();
  CLI::App* sub = app.add_subcommand(
      "send", "Send one event, or with --count a rate-limited stream of events and a summary");
  AddClientOptions(*sub, options->client);
  CLI::Option* user =
      sub->add_option("--user", options->user, "User name (every event's, with --count)");
  CLI::Option* click = sub->add_flag("--click", options->click, "The event is a click");
  sub->add_flag("--impression", options->impression, "The event is an impression")->excludes(click);
  AddTimestampOption(*sub, options->timestamp);
  sub->add_flag("--seconds", options->seconds,
                "Default timestamp in seconds (for a cluster with timestamp-unit seconds)");
  CLI::Option* count = sub->add_option_function<uint64_t>(
      "--count", [options](const uint64_t& n) { options->count = n; },
      "Send a stream of N events (users from a random pool; ~30% clicks unless --click or "
      "--impression) and print a summary");
  count->check(CLI::PositiveNumber);
  sub->add_option("--rate", options->rate, "Events per second of a stream (0: as fast as possible)")
      ->check(CLI::NonNegativeNumber)
      ->needs(count);
  sub->add_option("--users", options->users, "Size K of a stream's user pool: user0..user<K-1>")
      ->check(CLI::PositiveNumber)
      ->default_val(options->users)
      ->needs(count)
      ->excludes(user);
  sub->add_option_function<uint64_t>(
         "--seed", [options](const uint64_t& s) { options->seed = s; },
         "Seed of a stream's random choices (default: random; printed in the summary)")
      ->needs(count);
  return [options] { return RunSend(*options, StandardIo()); };
}

}  // namespace rt::cli
