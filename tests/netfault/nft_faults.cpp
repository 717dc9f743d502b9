#include "tests/netfault/nft_faults.h"

#include <cstdio>
#include <iostream>

namespace rt::netfault {
namespace {

constexpr const char* kChain = "inet rtfault out";
constexpr const char* kPartitionMark = "0x19";

}  // namespace

bool NftFaults::Run(const std::string& script) {
  FILE* nft = popen("nft -f -", "w");
  if (nft == nullptr) {
    std::cerr << "netfault: cannot run nft\n";
    return false;
  }
  std::fwrite(script.data(), 1, script.size(), nft);
  const int status = pclose(nft);
  if (status != 0) {
    std::cerr << "netfault: nft refused:\n" << script;
    return false;
  }
  return true;
}

bool NftFaults::Install() {
  return Run(std::string("add table inet rtfault\nadd chain ") + kChain +
             " { type filter hook output priority 0; policy accept; }\n");
}

bool NftFaults::Set(std::vector<std::string> rules) {
  // Flush and add in one transaction: no moment with half a fault.
  std::string script = std::string("flush chain ") + kChain + "\n";
  for (const std::string& rule : rules)
    script += std::string("add rule ") + kChain + " " + rule + "\n";
  if (!Run(script)) return false;
  rules_ = std::move(rules);
  return true;
}

bool NftFaults::Blackhole(const std::vector<uint16_t>& ports) {
  std::vector<std::string> rules;
  for (const uint16_t port : ports) {
    const std::string p = std::to_string(port);
    rules.push_back("tcp dport " + p + " drop");
    rules.push_back("tcp sport " + p + " drop");
  }
  return Set(std::move(rules));
}

bool NftFaults::Partition(uid_t uid, uint16_t port) {
  return Set({"meta skuid " + std::to_string(uid) + " tcp dport " + std::to_string(port) +
                  " ct mark set " + kPartitionMark,
              std::string("ct mark ") + kPartitionMark + " drop"});
}

bool NftFaults::Lossy(uint16_t port, int tenths) {
  const std::string p = std::to_string(port);
  const std::string drop = " numgen random mod 10 < " + std::to_string(tenths) + " drop";
  return Set({"tcp dport " + p + drop, "tcp sport " + p + drop});
}

bool NftFaults::Heal() { return Set({}); }

}  // namespace rt::netfault
