#include "server/store/kc_version.h"

#include <kcutil.h>

namespace rt {

std::string_view KyotoCabinetVersion() { return kyotocabinet::VERSION; }

}  // namespace rt
