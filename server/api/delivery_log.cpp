#include "server/api/delivery_log.h"

#include <cstdio>

namespace rt {

namespace {
int Width(std::string_view text) { return static_cast<int>(text.size()); }
}  // namespace

void DeliveryLog::Retrying(std::string_view peer, const std::string& problem) {
  if (problem == last_problem_ || problem_lines_ >= kMaxLinesPerStreak) return;
  last_problem_ = problem;
  ++problem_lines_;
  std::fprintf(stderr, "%sworker=%s peer=%.*s: %s; resending the batch with backoff\n",
               prefix_.c_str(), worker_id_.c_str(), Width(peer), peer.data(), problem.c_str());
}

void DeliveryLog::EndStreak(std::string_view peer) {
  std::fprintf(stderr, "%sworker=%s peer=%.*s: batches delivered again\n", prefix_.c_str(),
               worker_id_.c_str(), Width(peer), peer.data());
  last_problem_.clear();
  problem_lines_ = 0;
  key_refusal_logged_ = false;
}

void DeliveryLog::Error(std::string_view peer, const std::string& what) {
  std::fprintf(stderr, "%sERROR: worker=%s peer=%.*s: %s\n", prefix_.c_str(), worker_id_.c_str(),
               Width(peer), peer.data(), what.c_str());
}

void DeliveryLog::ErrorOnce(std::string_view peer, const std::string& what) {
  if (error_once_logged_) return;
  error_once_logged_ = true;
  std::fprintf(stderr, "%sERROR: worker=%s peer=%.*s: %s\n", prefix_.c_str(), worker_id_.c_str(),
               Width(peer), peer.data(), what.c_str());
}

void DeliveryLog::KeyRefused(std::string_view peer, const std::string& problem,
                             const std::string& advice) {
  last_problem_ = problem;  // so that the Retrying call for this answer is silent
  if (key_refusal_logged_) return;
  key_refusal_logged_ = true;
  ++problem_lines_;  // the episode ends with "batches delivered again"
  Error(peer, problem + advice);
}

}  // namespace rt
