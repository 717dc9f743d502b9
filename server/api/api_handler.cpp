#include "server/api/api_handler.h"

#include <chrono>

#include "config/replica_set.h"
#include "config/routing.h"
#include "config/slice_math.h"
#include "config/utc_time.h"
#include "server/api/event_admission.h"
#include "server/api/spool/event_spool.h"
#include "server/model/event_query.h"

namespace rt {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

bool WantsFresh(const http::Request& request) {
  const auto it = request.find(http::beast_http::field::cache_control);
  return it != request.end() && it->value().find("no-cache") != std::string_view::npos;
}

// Whether the query string of `target` has parameter `name` (any value). Only for
// flags that change the form of an answer; parameters that carry data go through
// server/model/event_query.h.
bool HasQueryFlag(std::string_view target, std::string_view name) {
  const size_t question = target.find('?');
  if (question == std::string_view::npos) return false;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view segment = query.substr(0, amp);
    if (segment.substr(0, segment.find('=')) == name) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

constexpr std::string_view kWithStartParam = "with-start";

void AppendSliceLines(std::string& out, int64_t slice, const ClusterConfig* with_start) {
  out += "slice," + std::to_string(slice) + "\n";
  if (with_start != nullptr) {
    out += "start," + FormatUtcTime(SliceStartSeconds(*with_start, slice)) + "\n";
  }
}

http::Response Accepted() {
  http::Response response{http::StatusCode::accepted, 11};
  return response;
}

}  // namespace

ApiHandler::ApiHandler(ConfigSource config, const UserKeyer& keyer, const Clock& clock,
                       EventSink& sink, SliceFetcher& fetcher, MetricsRegistry& metrics,
                       HealthCheck health)
    : config_(std::move(config)),
      keyer_(keyer),
      clock_(clock),
      sink_(sink),
      fetcher_(fetcher),
      metrics_(metrics),
      health_(std::move(health)),
      received_clicks_(metrics.AddCounter("rt_api_received_total",
                                          "Events accepted (202) by action", "action=\"click\"")),
      received_impressions_(metrics.AddCounter(
          "rt_api_received_total", "Events accepted (202) by action", "action=\"impression\"")),
      gets_(metrics.AddCounter("rt_api_reads_total",
                               "Stats GETs (/analytics, /perworker, /allslices) answered 200")),
      get_failures_(metrics.AddCounter("rt_api_read_failures_total",
                                       "GET requests for stats answered 503 (a worker failed)")),
      post_latency_(metrics.AddHistogram("rt_api_post_seconds", "POST /analytics handling time")),
      get_latency_(
          metrics.AddHistogram("rt_api_get_seconds", "Stats GETs' time until a 200 answer")) {
  for (size_t i = 0; i < rejected_.size(); ++i) {
    rejected_[i] = &metrics.AddCounter(
        "rt_api_rejected_total", "Events refused (400/503) by reason",
        "reason=\"" + std::string(RejectReasonName(static_cast<RejectReason>(i))) + "\"");
  }
}

void ApiHandler::Register(http::Router& router) {
  router.Add(http::Verb::post, "/analytics", http::BindMethod(this, &ApiHandler::HandlePostEvent));
  router.Add(http::Verb::get, "/analytics", http::BindMethod(this, &ApiHandler::HandleGetStats));
  router.Add(http::Verb::get, "/analytics/perworker",
             http::BindMethod(this, &ApiHandler::HandleGetPerWorker));
  router.Add(http::Verb::get, "/analytics/allslices",
             http::BindMethod(this, &ApiHandler::HandleGetAllSlices));
  router.Add(http::Verb::get, "/healthz", http::BindMethod(this, &ApiHandler::HandleHealth));
  router.Add(http::Verb::get, "/readyz", http::BindMethod(this, &ApiHandler::HandleReady));
  router.Add(http::Verb::get, "/metrics", http::BindMethod(this, &ApiHandler::HandleMetrics));
}

void ApiHandler::HandlePostEvent(http::Request& request, http::Responder respond) {
  const auto start = SteadyClock::now();
  const std::shared_ptr<const ClusterConfig> config = config_();
  Admission admission = AdmitEvent(*config, keyer_, request.target(), clock_.NowMillis());
  if (!admission.ok()) {
    rejected_[static_cast<size_t>(admission.rejection.reason)]->Inc();
    respond(http::MakeErrorResponse(http::StatusCode::bad_request, admission.rejection.message));
    return;
  }
  const AdmittedEvent& event = admission.event;
  const EnqueueOutcome outcome =
      sink_.Enqueue(*event.set, BatchEvent{event.slice, event.key, event.action});
  const EnqueueResult queued = outcome.result;
  if (queued == EnqueueResult::kQueueFull) {
    rejected_[static_cast<size_t>(RejectReason::kQueueFull)]->Inc();
    http::Response response = http::MakeErrorResponse(
        http::StatusCode::service_unavailable,
        "forwarding queue of worker " + SetKey(*event.set) + " is full; retry later");
    response.set(http::beast_http::field::retry_after, "1");
    respond(std::move(response));
    return;
  }
  if (queued == EnqueueResult::kUndeliverable) {
    // A 202 would promise an event this node knows it cannot deliver. No
    // Retry-After: when it can deliver again depends on an operator.
    rejected_[static_cast<size_t>(RejectReason::kUndeliverable)]->Inc();
    respond(http::MakeErrorResponse(http::StatusCode::service_unavailable,
                                    "cannot deliver to worker " + SetKey(*event.set) + ": " +
                                        sink_.UndeliverableReason(*event.set)));
    return;
  }
  Counter& received = event.action == Action::kClick ? received_clicks_ : received_impressions_;
  if (outcome.wait_on == nullptr) {  // durable now: no callback to allocate
    received.Inc();
    respond(Accepted());
    post_latency_.ObserveSeconds(SecondsSince(start));
    return;
  }
  // --spool-fsync: the 202 promises the event survives a power cut, so it waits for
  // the group fsync that covers it (docs/design.md §13 "Spool").
  outcome.wait_on->WhenDurable(outcome.seq, [this, &received, respond = std::move(respond), start] {
    received.Inc();
    respond(Accepted());
    post_latency_.ObserveSeconds(SecondsSince(start));
  });
}

std::optional<ApiHandler::ReadTarget> ApiHandler::ResolveReadTarget(const http::Request& request,
                                                                    http::Responder& respond) {
  ReadTarget target;
  target.config = config_();
  Result<std::string> text = ParseTimeQuery(request.target(), "timestamp");
  Result<int64_t> timestamp = text.ok() ? ParseTimestamp(*text) : Result<int64_t>(text.status());
  Result<int64_t> slice = timestamp.ok() ? SliceOfTimestamp(*target.config, *timestamp) : timestamp;
  if (!slice.ok()) {
    respond(http::MakeErrorResponse(http::StatusCode::bad_request, slice.status().message()));
    return std::nullopt;
  }
  target.slice = *slice;
  target.nodes = SetsForSlice(*target.config, target.slice);
  return target;
}

void ApiHandler::HandleGetStats(http::Request& request, http::Responder respond) {
  const auto start = SteadyClock::now();
  std::optional<ReadTarget> target = ResolveReadTarget(request, respond);
  if (!target) return;
  if (target->nodes == nullptr) {  // no workers, so no data
    respond(http::MakeTextResponse(http::StatusCode::ok, FormatSliceStats({})));
    return;
  }
  const bool use_cache = !WantsFresh(request);
  if (use_cache) {
    if (std::optional<SliceStats> total = fetcher_.CachedTotal(target->slice, *target->nodes)) {
      gets_.Inc();
      respond(http::MakeTextResponse(http::StatusCode::ok, FormatSliceStats(*total)));
      get_latency_.ObserveSeconds(SecondsSince(start));
      return;
    }
  }
  fetcher_.FetchSlice(
      *target->config, target->slice, *target->nodes, use_cache,
      [this, start, respond = std::move(respond)](Status status, std::vector<WorkerStats> parts) {
        if (!status.ok()) {
          get_failures_.Inc();
          respond(http::MakeErrorResponse(http::StatusCode::service_unavailable, status.message()));
          return;
        }
        SliceStats total;
        for (const WorkerStats& part : parts) total += part.stats;
        gets_.Inc();
        respond(http::MakeTextResponse(http::StatusCode::ok, FormatSliceStats(total)));
        get_latency_.ObserveSeconds(SecondsSince(start));
      });
}

// perworker and allslices count like GET /analytics: a 200 in rt_api_reads_total and
// the latency histogram, a 503 in rt_api_read_failures_total.
void ApiHandler::HandleGetPerWorker(http::Request& request, http::Responder respond) {
  const auto start = SteadyClock::now();
  std::optional<ReadTarget> target = ResolveReadTarget(request, respond);
  if (!target) return;
  if (target->nodes == nullptr) {
    gets_.Inc();
    respond(http::MakeTextResponse(http::StatusCode::ok, ""));
    get_latency_.ObserveSeconds(SecondsSince(start));
    return;
  }
  const int64_t slice = target->slice;
  std::shared_ptr<const ClusterConfig> with_start =
      HasQueryFlag(request.target(), kWithStartParam) ? target->config : nullptr;
  fetcher_.FetchSlice(
      *target->config, slice, *target->nodes, !WantsFresh(request),
      [this, start, slice, with_start = std::move(with_start), respond = std::move(respond)](
          Status status, std::vector<WorkerStats> parts) {
        if (!status.ok()) {
          get_failures_.Inc();
          respond(http::MakeErrorResponse(http::StatusCode::service_unavailable, status.message()));
          return;
        }
        gets_.Inc();
        respond(http::MakeTextResponse(http::StatusCode::ok,
                                       FormatPerWorker(slice, parts, with_start.get())));
        get_latency_.ObserveSeconds(SecondsSince(start));
      });
}

void ApiHandler::HandleGetAllSlices(http::Request& request, http::Responder respond) {
  const auto start = SteadyClock::now();
  const std::shared_ptr<const ClusterConfig> config = config_();
  std::shared_ptr<const ClusterConfig> with_start =
      HasQueryFlag(request.target(), kWithStartParam) ? config : nullptr;
  fetcher_.FetchAllSlices(
      *config, [this, start, with_start = std::move(with_start), respond = std::move(respond)](
                   Status status, std::map<int64_t, SliceStats> slices) {
        if (!status.ok()) {
          get_failures_.Inc();
          respond(http::MakeErrorResponse(http::StatusCode::service_unavailable, status.message()));
          return;
        }
        gets_.Inc();
        respond(http::MakeTextResponse(http::StatusCode::ok,
                                       FormatAllSlices(slices, with_start.get())));
        get_latency_.ObserveSeconds(SecondsSince(start));
      });
}

std::optional<std::string> ApiHandler::UnhealthyReason() const {
  std::optional<std::string> why = sink_.Unhealthy();
  if (std::optional<std::string> config = health_ ? health_() : std::nullopt) {
    why = why ? *why + "; " + *config : *config;
  }
  return why;
}

void ApiHandler::SetHealthDetails(HealthCheck note, HealthJson json) {
  health_note_ = std::move(note);
  health_json_ = std::move(json);
}

void ApiHandler::HandleHealth(http::Request& request, http::Responder respond) {
  const std::optional<std::string> why = UnhealthyReason();
  if (health_json_ && http::AcceptsJson(request)) {
    respond(http::MakeJsonResponse(
        why ? http::StatusCode::service_unavailable : http::StatusCode::ok, health_json_(why)));
    return;
  }
  if (why) {
    respond(http::MakeErrorResponse(http::StatusCode::service_unavailable, *why));
    return;
  }
  std::string body = "ok\n";
  if (health_note_) {
    if (std::optional<std::string> note = health_note_()) body += *note + "\n";
  }
  respond(http::MakeTextResponse(http::StatusCode::ok, std::move(body)));
}

void ApiHandler::HandleReady(http::Request&, http::Responder respond) {
  std::optional<std::string> why = UnhealthyReason();
  if (!why) {
    // The workers of the slice that "now" falls in: the ones today's POSTs go to.
    const std::shared_ptr<const ClusterConfig> config = config_();
    const Result<int64_t> slice = SliceOfEpochMillis(*config, clock_.NowMillis());
    const std::vector<ReplicaSet>* sets = slice.ok() ? SetsForSlice(*config, *slice) : nullptr;
    if (sets != nullptr) why = sink_.NotReady(*sets);
  }
  if (why) {
    respond(http::MakeErrorResponse(http::StatusCode::service_unavailable, "not ready: " + *why));
    return;
  }
  respond(http::MakeTextResponse(http::StatusCode::ok, "ready\n"));
}

void ApiHandler::HandleMetrics(http::Request&, http::Responder respond) {
  respond(http::MakeMetricsResponse(metrics_.Render()));
}

std::string FormatPerWorker(int64_t slice, const std::vector<WorkerStats>& workers,
                            const ClusterConfig* with_start) {
  std::string out;
  for (const WorkerStats& w : workers) {
    AppendSliceLines(out, slice, with_start);
    out += "worker," + w.url + "\n";
    AppendSliceStats(out, w.stats);
  }
  return out;
}

std::string FormatAllSlices(const std::map<int64_t, SliceStats>& slices,
                            const ClusterConfig* with_start) {
  std::string out;
  for (const auto& [slice, stats] : slices) {
    AppendSliceLines(out, slice, with_start);
    AppendSliceStats(out, stats);
  }
  return out;
}

}  // namespace rt
