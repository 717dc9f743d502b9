#include "config/node_url.h"

#include <boost/url/parse.hpp>
#include <charconv>

#include "config/config_problem.h"

namespace rt {

Result<NodeUrl> ParseNodeUrl(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) {
    return Status::InvalidArgument("not a URL of the form http://host:port/path: " +
                                   QuoteForMessage(url));
  }
  const boost::urls::url_view& view = *parsed;
  if (view.scheme_id() != boost::urls::scheme::http) {
    return Status::InvalidArgument("scheme must be http: " + QuoteForMessage(url));
  }
  if (view.has_userinfo()) {
    return Status::InvalidArgument("user info is not allowed: " + QuoteForMessage(url));
  }
  if (view.has_query() || view.has_fragment()) {
    return Status::InvalidArgument("query or fragment is not allowed: " + QuoteForMessage(url));
  }
  NodeUrl out;
  out.host = view.host_address();
  if (out.host.empty()) return Status::InvalidArgument("no host in " + QuoteForMessage(url));
  const std::string_view port = view.port();
  if (!view.has_port() || port.empty()) {
    return Status::InvalidArgument("no port in " + QuoteForMessage(url) +
                                   " (the node listens on it)");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return Status::InvalidArgument("port out of range in " + QuoteForMessage(url));
  }
  out.port = static_cast<uint16_t>(value);
  out.path = view.path();
  return out;
}

}  // namespace rt
