#include "cli/client_options.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/stats_text.h"
#include "config/slice_math.h"
#include "config/utc_time.h"

namespace rt::cli {
namespace {

// A day: more is a mistake, and it keeps the milliseconds far from overflowing.
constexpr double kMaxTimeoutS = 86400;

}  // namespace

void AddClientOptions(CLI::App& sub, ClientOptions& options) {
  sub.add_option("--api", options.api,
                 "API node URL: http://HOST:PORT or the node's URL from the config "
                 "(default: $RT_API)");
  // CLI::PositiveNumber would print its range, DBL_MAX in 300 digits.
  sub.add_option("--timeout", options.timeout_s, "Seconds allowed per request")
      ->check(
          [](const std::string& value) -> std::string {
            double seconds = 0;
            const bool number = CLI::detail::lexical_cast(value, seconds);
            if (number && seconds > 0 && seconds <= kMaxTimeoutS) return "";
            return "must be a number of seconds above 0 and at most " +
                   std::to_string(static_cast<int>(kMaxTimeoutS)) + ", not " + value;
          },
          "SECONDS")
      ->default_val(options.timeout_s);
}

namespace {

// The --timestamp value in epoch seconds (utc) or as the number given.
struct ParsedTimestamp {
  int64_t value = 0;
  bool utc = false;
};

Result<ParsedTimestamp> ParseTimestampArg(std::string_view text) {
  if (text.find('T') != std::string_view::npos) {
    const Result<int64_t> seconds = ParseUtcTime(text);
    if (!seconds.ok()) return seconds.status();
    return ParsedTimestamp{*seconds, true};
  }
  const Result<int64_t> value = ParseTimestamp(text);
  if (!value.ok()) return value.status();
  return ParsedTimestamp{*value, false};
}

}  // namespace

void AddTimestampOption(CLI::App& sub, std::optional<std::string>& timestamp) {
  sub.add_option_function<std::string>(
         "--timestamp", [&timestamp](const std::string& value) { timestamp = value; },
         "Event time: epoch in the cluster's timestamp-unit, or YYYY-MM-DDTHH:MM:SS UTC "
         "(default: now)")
      ->check(
          [](const std::string& value) -> std::string {
            const Result<ParsedTimestamp> parsed = ParseTimestampArg(value);
            return parsed.ok() ? std::string()
                               : "must be an epoch number or YYYY-MM-DDTHH:MM:SS: " +
                                     parsed.status().message();
          },
          "TIME");
}

ClientIo StandardIo() {
  static const SystemClock clock;
  return ClientIo{std::cout, std::cerr, clock, isatty(STDERR_FILENO) == 1};
}

std::optional<std::string> ResolveApiUrl(const ClientOptions& options) {
  if (!options.api.empty()) return options.api;
  const char* env = std::getenv("RT_API");
  if (env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

HttpClientOptions ToHttpClientOptions(const ClientOptions& options) {
  HttpClientOptions http;
  const auto total = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000));
  http.total_timeout = std::max(total, std::chrono::milliseconds(1));
  http.connect_timeout = std::min(http.connect_timeout, http.total_timeout);
  return http;
}

int64_t TimestampOrNow(const std::optional<std::string>& timestamp, bool seconds,
                       const Clock& clock) {
  if (timestamp) {
    const Result<ParsedTimestamp> parsed = ParseTimestampArg(*timestamp);
    if (!parsed.ok()) return 0;  // excluded by the option's check
    if (!parsed->utc) return parsed->value;
    return seconds ? parsed->value : parsed->value * 1000;
  }
  const int64_t now_ms = clock.NowMillis();
  return seconds ? now_ms / 1000 : now_ms;
}

int ReportMissingApi(const std::string& command, std::ostream& err) {
  err << "rtctl " << command << ": no API node given: pass --api URL or set RT_API\n";
  return kExitUsage;
}

FetchResult FetchText(const std::string& command, const ClientOptions& options,
                      std::string_view path_and_query, const std::vector<std::string>& headers,
                      const ClientIo& io) {
  const std::optional<std::string> api = ResolveApiUrl(options);
  if (!api) return FetchResult{ReportMissingApi(command, io.err), {}};
  HttpClient client(*api, ToHttpClientOptions(options));
  Result<HttpResponse> response = client.Get(path_and_query, headers);
  if (!response.ok()) {
    io.err << "rtctl " << command << ": " << response.status().message() << "\n";
    return FetchResult{kExitFailure, {}};
  }
  if (response->status < 200 || response->status >= 300) {
    io.err << "rtctl " << command << ": " << DescribeHttpError(*response) << "\n";
    return FetchResult{kExitFailure, {}};
  }
  return FetchResult{kExitOk, std::move(response->body)};
}

int PrintStatsAnswer(const std::string& command, const std::string& body, bool json, bool table,
                     bool total_row, const ClientIo& io) {
  if (!json && !table) {
    io.out << body;
    return kExitOk;
  }
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(body);
  if (!records.ok()) {
    io.err << "rtctl " << command << ": unexpected answer: " << records.status().message() << "\n";
    return kExitFailure;
  }
  io.out << (json ? FormatRecordsJson(*records) + "\n" : FormatRecordsTable(*records, total_row));
  return kExitOk;
}

}  // namespace rt::cli
