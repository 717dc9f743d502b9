#pragma once

#include <cstdint>
#include <string>

namespace rt {

// What opening the store found and did: for the worker's log line, /healthz and
// /metrics. Kyoto repairs a file that was not closed cleanly (kill -9, crash, power
// loss) silently on open: it rolls back an unfinished transaction from its WAL
// (HashDB::recovered) and rebuilds the file when its header says it was open
// (HashDB::reorganized). The data is consistent afterwards (docs/design.md §7 "Store
// records"), but an operator should know it happened and how long it took.
struct StoreStartReport {
  bool wal_applied = false;  // Kyoto found its WAL file: the process did not close it
  bool rebuilt = false;      // Kyoto rebuilt the file (its header said "open")
  bool repaired() const { return wal_applied || rebuilt; }
  int64_t records_before = -1;  // record count in the header before the repair; -1 unknown
  int64_t records_after = 0;    // records after opening
  double open_seconds = 0;      // time Kyoto's open (and repair) took
  int64_t files_repaired = 0;   // Kyoto files that needed it (the store sums its files)
  uint64_t log_batches_replayed = 0;
  uint64_t log_torn_tail_bytes = 0;  // cut off the batch log's end (never acknowledged)
  // Why the Kyoto read-ahead's fence kept it off for a file opened at start (the
  // first such file's reason); empty when it is on, or switched off on purpose.
  std::string read_ahead_off;
};

// "store repaired at start (not closed cleanly; Kyoto ...): N records before, M
// after, in S s, F files": one line for the log and /healthz; empty when nothing was repaired.
std::string RepairSummary(const StoreStartReport& report);
// "cut a torn tail of N bytes off the batch log (never acknowledged), replayed M
// batches": one line for the log; empty when nothing was cut.
std::string TornTailSummary(const StoreStartReport& report);
// "Kyoto read-ahead off: WHY (ingest slower; nothing else changes)"; empty when on.
std::string ReadAheadSummary(const StoreStartReport& report);

}  // namespace rt
