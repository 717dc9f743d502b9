#include "server/http/stop_signal.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

namespace rt::http {

std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  // Appended piecewise: `"[" + address.to_string() + "]"` trips GCC 12's false
  // -Wrestrict at -O3 (GCC PR 105329), as in config/config_problem.cpp.
  std::string text;
  if (address.is_v6()) text += '[';
  text += address.to_string();
  if (address.is_v6()) text += ']';
  text += ':';
  text += std::to_string(endpoint.port());
  return text;
}

void AnnounceAndWaitForStopSignal(const boost::asio::ip::tcp::endpoint& endpoint,
                                  const std::function<void()>& on_hangup) {
  boost::asio::io_context context(1);
  boost::asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { context.stop(); });
  boost::asio::signal_set hangup(context);
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      on_hangup();
      wait_hangup();
    });
  };
  if (on_hangup) {
    hangup.add(SIGHUP);
    wait_hangup();
  }
  std::printf("listening on %s\n", FormatEndpoint(endpoint).c_str());
  std::fflush(stdout);
  context.run();
}

}  // namespace rt::http
