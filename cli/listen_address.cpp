#include "cli/listen_address.h"

#include <charconv>

namespace rt::cli {

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("expected HOST:PORT, got \"" + std::string(text) + "\"");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status::InvalidArgument("bad port \"" + std::string(port_text) + "\"");
  }
  ListenAddress address;
  address.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  address.port = static_cast<uint16_t>(port);
  return address;
}

}  // namespace rt::cli
