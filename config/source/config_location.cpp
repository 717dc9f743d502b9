#include "config/source/config_location.h"

#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>

namespace rt {
namespace {

constexpr std::string_view kScheme = "etcd://";

Status Bad(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("config location \"" + std::string(text.substr(0, 128)) +
                                 "\": " + why);
}

}  // namespace

Result<ConfigLocation> ParseConfigLocation(std::string_view text) {
  ConfigLocation location;
  location.text = std::string(text);
  if (!text.starts_with(kScheme)) {
    if (text.empty()) return Bad(text, "empty");
    location.path = std::string(text);
    return location;
  }
  location.kind = ConfigLocation::Kind::kEtcd;
  // Boost.URL does not take a comma-separated host list as one authority, so the
  // endpoints are split here and each is checked as an authority of its own.
  const std::string_view rest = text.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return Bad(text, "no key: etcd://HOST:PORT/KEY");
  std::string_view hosts = rest.substr(0, slash);
  while (!hosts.empty()) {
    const size_t comma = hosts.find(',');
    const std::string_view endpoint = hosts.substr(0, comma);
    auto authority = boost::urls::parse_authority(endpoint);
    if (!authority || !authority->has_port() || authority->port_number() == 0 ||
        authority->host().empty() || authority->has_userinfo()) {
      return Bad(text, "endpoint \"" + std::string(endpoint) + "\" is not HOST:PORT");
    }
    location.endpoints.emplace_back(endpoint);
    if (comma == std::string_view::npos) break;
    hosts.remove_prefix(comma + 1);
  }
  if (location.endpoints.empty()) return Bad(text, "no endpoint: etcd://HOST:PORT/KEY");
  const std::string_view key = rest.substr(slash + 1);
  auto decoded = boost::urls::make_pct_string_view(key);
  if (!decoded) return Bad(text, "key is not percent-encoded properly");
  location.key = decoded->decode();
  if (location.key.empty()) return Bad(text, "empty key");
  return location;
}

}  // namespace rt
