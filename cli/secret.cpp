#include "cli/secret.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rt::cli {

Result<std::string> ReadSecret(const std::string& secret_file) {
  if (secret_file.empty()) {
    const char* env = std::getenv("RT_SECRET");
    return std::string(env == nullptr ? "" : env);
  }
  std::ifstream in(secret_file, std::ios::binary);
  if (!in) return Status::IoError("cannot read secret file " + secret_file);
  std::ostringstream content;
  content << in.rdbuf();
  std::string secret = content.str();
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Status::InvalidArgument("secret file " + secret_file + " is empty");
  return secret;
}

}  // namespace rt::cli
