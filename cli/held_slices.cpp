#include "cli/held_slices.h"

#include <algorithm>

#include "base/clock.h"
#include "cli/http_client.h"
#include "cli/worker_request.h"
#include "config/node_url.h"
#include "server/api/slice_fetcher.h"

namespace rt::cli {
namespace {

// The greatest slice worker `url` holds (nullopt: none), or why it cannot be told.
Result<std::optional<int64_t>> AskOne(const std::string& url, std::chrono::milliseconds timeout,
                                      const WorkerKey& key) {
  const Result<NodeUrl> parsed = ParseNodeUrl(url);
  if (!parsed.ok()) return parsed.status();
  const bool v6 = parsed->host.find(':') != std::string::npos;
  const std::string origin = "http://" + (v6 ? "[" + parsed->host + "]" : parsed->host) + ":" +
                             std::to_string(parsed->port);
  HttpClient client(origin, HttpClientOptions{timeout, timeout});
  const Result<HttpResponse> response = client.Get(
      "/worker/slices", SignatureHeaders(key, SystemClock(), "GET", "/worker/slices", ""));
  if (!response.ok()) return response.status();
  if (response->status != 200) return Status::Unavailable(DescribeHttpError(*response));
  const Result<std::map<int64_t, SliceStats>> slices = ParseWorkerSlices(response->body);
  if (!slices.ok()) return slices.status();
  if (slices->empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(slices->rbegin()->first);
}

}  // namespace

HeldSlices AskWorkersHeldSlices(const ClusterConfig& config, std::chrono::milliseconds timeout,
                                const WorkerKey& key) {
  HeldSlices held;
  for (const auto& [id, url] : config.worker_nodes) {
    const Result<std::optional<int64_t>> greatest = AskOne(url, timeout, key);
    if (!greatest.ok()) {
      held.warnings.push_back("could not ask worker " + id + " (" + url +
                              "): " + greatest.status().message() +
                              "; slices it holds are not protected by this check");
      continue;
    }
    held.asked.push_back(id);
    if (*greatest) held.held_through = std::max(held.held_through.value_or(**greatest), **greatest);
  }
  return held;
}

std::string NoWorkerKeyLine(const std::string& command) {
  return "rtctl " + command +
         ": asking the workers which slices they hold needs the worker key: pass "
         "--worker-key-file F or set RT_WORKER_KEY (rtctl worker-key), or --offline";
}

}  // namespace rt::cli
