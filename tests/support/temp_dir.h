#pragma once

#include <string>

namespace rt::testing {

// A fresh directory under the system temp dir, removed with everything in it when
// the object goes out of scope. Not thread-safe; one owner.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace rt::testing
