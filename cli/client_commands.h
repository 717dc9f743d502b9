#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/client_options.h"

namespace rt::cli {

// The client subcommands, split from their CLI11 setup (cmd_<name>.cpp) so that
// tests can run them with chosen options, string streams and a fixed clock. Each
// Run function returns the process exit code (kExitOk / kExitFailure /
// kExitUsage) and writes data to io.out, one-line errors to io.err.

struct SendOptions {
  ClientOptions client;
  std::string user;  // one event, or every event of a --count stream
  bool click = false;
  bool impression = false;
  std::optional<std::string> timestamp;  // --timestamp as given (see AddTimestampOption)
  bool seconds = false;
  std::optional<uint64_t> count;  // a stream of this many events
  double rate = 0;                // events per second; 0: as fast as possible
  uint64_t users = 1000;          // the random user pool of a stream: user0..user<K-1>
  std::optional<uint64_t> seed;   // default: random, printed in the summary
};
int RunSend(const SendOptions& options, const ClientIo& io);

struct QueryOptions {
  ClientOptions client;
  std::optional<std::string> timestamp;  // --timestamp as given (see AddTimestampOption)
  bool seconds = false;
  bool fresh = false;
  bool json = false;
};
int RunQuery(const QueryOptions& options, const ClientIo& io);

struct PerWorkerOptions {
  ClientOptions client;
  std::optional<std::string> timestamp;  // --timestamp as given (see AddTimestampOption)
  bool seconds = false;
  bool fresh = false;
  bool json = false;
  bool table = false;
};
int RunPerWorker(const PerWorkerOptions& options, const ClientIo& io);

struct AllSlicesOptions {
  ClientOptions client;
  bool json = false;
  bool table = false;
};
int RunAllSlices(const AllSlicesOptions& options, const ClientIo& io);

}  // namespace rt::cli
