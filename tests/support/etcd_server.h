#pragma once

#include <memory>
#include <string>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace rt::testing {

// A real single-member etcd (/usr/bin/etcd, Debian's etcd-server) for tests: data
// in a TempDir, client and peer ports picked free on 127.0.0.1. Start waits until
// the JSON gateway answers a range; Stop (SIGTERM) and Start again keep the ports
// and the data, to test a node that loses etcd for a while.
// Tests call Available() first and SKIP with a visible message when etcd is absent.
// Thread-safety: one owner.
class EtcdServer {
 public:
  static bool Available();  // /usr/bin/etcd exists

  EtcdServer();
  ~EtcdServer();

  // Starts (or restarts) etcd; false when it did not answer within the deadline.
  bool Start();
  void Stop();  // SIGTERM and wait; the data stays

  // "127.0.0.1:PORT", the client endpoint.
  std::string Endpoint() const;
  // "etcd://127.0.0.1:PORT/KEY"
  std::string Location(const std::string& key) const { return "etcd://" + Endpoint() + "/" + key; }
  // etcd's own output, for a failing test's message.
  std::string Log() const;

 private:
  TempDir dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  std::unique_ptr<Process> process_;
  std::string log_;  // of the runs stopped
};

}  // namespace rt::testing
