#include "cli/client_options.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/stats_text.h"

namespace rt::cli {

void AddClientOptions(CLI::App& sub, ClientOptions& options) {
  sub.add_option("--api", options.api,
                 "API node URL: http://HOST:PORT or the node's URL from the config "
                 "(default: $RT_API)");
  sub.add_option("--timeout", options.timeout_s, "Seconds allowed per request")
      ->check(CLI::PositiveNumber)
      ->default_val(options.timeout_s);
}

void AddTimestampOption(CLI::App& sub, std::optional<int64_t>& timestamp) {
  sub.add_option_function<int64_t>(
      "--timestamp", [&timestamp](const int64_t& value) { timestamp = value; },
      "Event time in the cluster's timestamp-unit (default: now)");
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

int64_t TimestampOrNow(const std::optional<int64_t>& timestamp, bool seconds, const Clock& clock) {
  if (timestamp) return *timestamp;
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
