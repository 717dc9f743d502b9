#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace rt {

// The body of GET /worker/snapshot (docs/http.md), a worker's store files in one
// answer that `rtctl reseed-worker` writes into an empty data dir:
//   "rt-snapshot 1\n", then per file "file NAME SIZE\n" and SIZE bytes, then "end\n".
// NAME is a plain file name ending in ".kch" (no directory part), so a reader never
// writes outside the directory it was given; SIZE is decimal.
using SnapshotFiles = std::vector<std::pair<std::string, std::string>>;  // name, bytes

std::string FormatSnapshot(const SnapshotFiles& files);
// Refuses a truncated body, a bad name or size, and anything after "end".
[[nodiscard]] Result<SnapshotFiles> ParseSnapshot(std::string_view body);

}  // namespace rt
