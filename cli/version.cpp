#include "cli/version.h"

#include <boost/version.hpp>

#include "server/metrics/build_info.h"
#include "server/store/kc_version.h"

namespace rt::cli {

std::string VersionText() {
  // BOOST_VERSION is MMmmmpp (boost/version.hpp); Kyoto's comes from the loaded
  // library, Boost's from the headers (the parts rt uses are header-only but url).
  const std::string boost = std::to_string(BOOST_VERSION / 100000) + "." +
                            std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                            std::to_string(BOOST_VERSION % 100);
  return "rtctl " + std::string(BuildVersion()) + " (git " + std::string(BuildRevision()) +
         ")\nKyoto Cabinet " + std::string(KyotoCabinetVersion()) + ", Boost " + boost;
}

}  // namespace rt::cli
