#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

namespace rt::http {

// "HOST:PORT" of an endpoint ("[::1]:8080" for IPv6).
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// For the serve-* commands: installs SIGINT/SIGTERM handlers, prints the ready line
// `listening on HOST:PORT` on stdout (flushed), and blocks until one of the signals
// arrives. The handlers are in place before the ready line, so a supervisor or test
// that signals right after reading it is never met by the default action (death).
// The caller then stops its node and exits 0.
// With `on_hangup`, SIGHUP is caught as well and calls it (on the calling thread, once
// per signal) instead of ending the process: operators send SIGHUP to every node
// after editing a config, and a node that does not reload must survive it.
void AnnounceAndWaitForStopSignal(const boost::asio::ip::tcp::endpoint& endpoint,
                                  const std::function<void()>& on_hangup = {});

}  // namespace rt::http
