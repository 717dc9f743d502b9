#include "server/store/start_report.h"

#include <algorithm>
#include <cstdio>

namespace rt {

std::string RepairSummary(const StoreStartReport& report) {
  if (!report.repaired()) return "";
  std::string what = report.rebuilt && report.wal_applied
                         ? "rolled back an unfinished transaction and rebuilt the file"
                     : report.rebuilt ? "rebuilt the file"
                                      : "rolled back an unfinished transaction";
  std::string before =
      report.records_before < 0 ? "unknown" : std::to_string(report.records_before);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", report.open_seconds);
  return "store repaired at start (not closed cleanly; Kyoto " + what + "): " + before +
         " records before, " + std::to_string(report.records_after) + " after, in " + seconds +
         " s, " + std::to_string(std::max<int64_t>(report.files_repaired, 1)) +
         (report.files_repaired > 1 ? " files" : " file");
}

std::string TornTailSummary(const StoreStartReport& report) {
  if (report.log_torn_tail_bytes == 0) return "";
  return "cut a torn tail of " + std::to_string(report.log_torn_tail_bytes) +
         " bytes off the batch log (never acknowledged); replayed " +
         std::to_string(report.log_batches_replayed) + " batches before it";
}

std::string ReadAheadSummary(const StoreStartReport& report) {
  if (report.read_ahead_off.empty()) return "";
  return "Kyoto read-ahead off: " + report.read_ahead_off +
         " (ingest is slower; counts are unaffected)";
}

}  // namespace rt
