#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rt::netfault {

// The faults, as nftables rules in one chain (`table inet rtfault`, chain `out`, on
// the output hook) of the current network namespace. Every packet on loopback
// passes the output hook once, so one chain sees both directions. Each Set* call
// replaces the chain's rules in one nft transaction; Heal() empties it.
// Only ever used inside the private namespace (private_network.h): the rules die
// with it. Thread-compatible (one controlling thread).
class NftFaults {
 public:
  // Creates the table and chain; false (with a line on stderr) if nft refused.
  bool Install();

  // The packets of the workers on `ports` vanish: no RST, no ICMP, in both directions.
  bool Blackhole(const std::vector<uint16_t>& ports);
  // Every connection a process running as `uid` opens to `port` is cut both ways
  // (the connection's first packet marks it in conntrack; the mark drops replies
  // too). A process's outbound connections have ephemeral source ports, so the API
  // node is told apart by its socket's owner (it runs as its own uid) rather than by
  // a port.
  bool Partition(uid_t uid, uint16_t port);
  // Drops `tenths`/10 of the packets to and from `port`, each independently.
  bool Lossy(uint16_t port, int tenths);
  bool Heal();

  // Rules applied so far (the last Set), for the report.
  const std::vector<std::string>& rules() const { return rules_; }

 private:
  bool Set(std::vector<std::string> rules);
  static bool Run(const std::string& script);

  std::vector<std::string> rules_;
};

}  // namespace rt::netfault
