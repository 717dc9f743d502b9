#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "config/cluster_config.h"

namespace rt::cli {

// A time given to an option (--now, --timestamp): a UTC time YYYY-MM-DDTHH:MM:SS
// (a trailing Z allowed), or an integer in the cluster's timestamp unit (epoch
// milliseconds by default). Returns epoch milliseconds; the error names `option`.
[[nodiscard]] Result<int64_t> ParseTimeOption(const std::string& option, std::string_view text,
                                              TimestampUnit unit);

// An error unless `epoch_ms` is at or after the first slice of `config`: a time
// before it is a mistake, usually epoch seconds given for milliseconds (which reads
// as January 1970), never a time an operator means. `text` is the value as given,
// `where` names the config (its file).
[[nodiscard]] Status CheckNotBeforeFirstSlice(const std::string& option, std::string_view text,
                                              int64_t epoch_ms, const ClusterConfig& config,
                                              const std::string& where);

}  // namespace rt::cli
