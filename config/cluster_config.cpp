#include "config/cluster_config.h"

namespace rt {

std::string_view TimestampUnitName(TimestampUnit unit) {
  return unit == TimestampUnit::kSeconds ? "seconds" : "milliseconds";
}

}  // namespace rt
