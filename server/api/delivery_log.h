#pragma once

#include <string>
#include <string_view>

namespace rt {

// The log lines of one worker's forwarder, on stderr. A worker down for an hour
// must not fill the log with a line per retry, and nothing is logged per batch on
// the hot path; problems that need an operator are ERROR lines. Each line starts
// with the node's prefix (`rt-api[0]: `, as serve-api's own lines) and names the
// worker as `worker=ID peer=HOST:PORT`, for a machine to filter on.
// Thread-safety: none (the forwarder's strand).
class DeliveryLog {
 public:
  DeliveryLog(const std::string& node_id, const std::string& worker_id)
      : prefix_("rt-api[" + node_id + "]: "), worker_id_(worker_id) {}

  // A send failed and will be repeated. Logs the first lines of a streak of
  // failures (at most kMaxLinesPerStreak, each problem once).
  void Retrying(std::string_view peer, const std::string& problem);
  // A batch was delivered: ends the streak, with one line if it logged anything.
  void Delivered(std::string_view peer) {
    if (problem_lines_ > 0) EndStreak(peer);
  }
  // An ERROR line: something an operator must look at (rare; not rate-limited).
  void Error(std::string_view peer, const std::string& what);
  // An ERROR line the first time only; later calls are counted in metrics instead.
  void ErrorOnce(std::string_view peer, const std::string& what);
  // The worker refused our key or signature with `problem` (401, or 409 key-mismatch
  // from an older worker). One ERROR line (`problem` then `advice`) per episode: the
  // first refusal after a delivery, not one per slow retry (a 401 for clock skew names
  // a different number of seconds each time). The Retrying call that follows for the
  // same answer logs nothing; Delivered ends the episode with its one line.
  void KeyRefused(std::string_view peer, const std::string& problem, const std::string& advice);

 private:
  static constexpr int kMaxLinesPerStreak = 5;

  void EndStreak(std::string_view peer);

  const std::string prefix_;
  const std::string worker_id_;
  std::string last_problem_;         // the problem last logged in the current streak
  int problem_lines_ = 0;            // lines logged in the current streak
  bool key_refusal_logged_ = false;  // KeyRefused logged in the current streak
  bool error_once_logged_ = false;
};

}  // namespace rt
