#include "server/model/user_keyer.h"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

namespace rt {
namespace {

std::string HexOf(const uint8_t* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

std::string Bytes(size_t n, unsigned char c) { return std::string(n, static_cast<char>(c)); }

struct Vector {
  const char* name;
  std::string key;
  std::string data;
  std::string mac;
};

// RFC 4231 section 4, HMAC-SHA-256 results of test cases 1-4, 6 and 7.
std::vector<Vector> Rfc4231() {
  std::string key4;
  for (int i = 1; i <= 25; ++i) key4.push_back(static_cast<char>(i));
  return {
      {"1", Bytes(20, 0x0b), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", Bytes(20, 0xaa), Bytes(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4", key4, Bytes(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"6", Bytes(131, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"7", Bytes(131, 0xaa),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

// Every vector's data is at least 8 bytes, so it splits into be64(slice) || user
// and the keyer itself (with its reused per-thread context) can be checked.
int64_t SliceOf(const std::string& data) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(data[i]);
  return static_cast<int64_t>(v);
}

TEST_CASE("HMAC-SHA256 matches the RFC 4231 test vectors", "[model][keyer]") {
  for (const Vector& v : Rfc4231()) {
    INFO("test case " << v.name);
    auto mac = HmacSha256(v.key, v.data);
    CHECK(HexOf(mac.data(), mac.size()) == v.mac);
  }
}

TEST_CASE("the keyer's reused context reproduces the RFC 4231 vectors", "[model][keyer]") {
  for (const Vector& v : Rfc4231()) {
    INFO("test case " << v.name);
    UserKeyer keyer(v.key);
    const std::string expected = v.mac.substr(0, 32);
    // Twice: the second call runs on the re-initialized per-thread context.
    CHECK(keyer.KeyFor(SliceOf(v.data), v.data.substr(8)).Hex() == expected);
    CHECK(keyer.KeyFor(SliceOf(v.data), v.data.substr(8)).Hex() == expected);
  }
}

TEST_CASE("the truncated RFC 4231 case 5 is the key's length", "[model][keyer]") {
  UserKeyer keyer(Bytes(20, 0x0c));
  const std::string data = "Test With Truncation";
  CHECK(keyer.KeyFor(SliceOf(data), data.substr(8)).Hex() == "a3b6167473100ee06e0c796c2955552b");
}

TEST_CASE("one user gets different keys in different slices", "[model][keyer]") {
  UserKeyer keyer("secret");
  std::set<std::string> keys;
  for (int64_t slice = 0; slice < 100; ++slice) keys.insert(keyer.KeyFor(slice, "alice").Hex());
  CHECK(keys.size() == 100);
  CHECK(keyer.KeyFor(7, "alice") == keyer.KeyFor(7, "alice"));
  CHECK(keyer.KeyFor(7, "alice") != keyer.KeyFor(7, "bob"));
}

TEST_CASE("different secrets give different keys and key ids", "[model][keyer]") {
  UserKeyer a("secret-a");
  UserKeyer b("secret-b");
  CHECK(a.KeyFor(1, "alice") != b.KeyFor(1, "alice"));
  CHECK(a.KeyId() != b.KeyId());
  // Alternating between keyers on one thread uses each one's own context.
  for (int i = 0; i < 3; ++i) {
    CHECK(a.KeyFor(1, "alice").Hex() ==
          HexOf(HmacSha256("secret-a", std::string("\0\0\0\0\0\0\0\1alice", 13)).data(), 16));
    CHECK(b.KeyFor(1, "alice").Hex() ==
          HexOf(HmacSha256("secret-b", std::string("\0\0\0\0\0\0\0\1alice", 13)).data(), 16));
  }
}

TEST_CASE("the key id is the first 8 hex chars of SHA-256 of the secret", "[model][keyer]") {
  CHECK(UserKeyer("abc").KeyId() == "ba7816bf");
  CHECK(UserKeyer("").KeyId() == "e3b0c442");
  CHECK_FALSE(UserKeyer("").HasSecret());
  CHECK(UserKeyer("abc").HasSecret());
}

TEST_CASE("keys computed on many threads agree with the reference", "[model][keyer]") {
  UserKeyer keyer("shared-secret");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        std::string user = "user" + std::to_string(i);
        std::string data = std::string(7, '\0') + static_cast<char>(t) + user;
        auto mac = HmacSha256("shared-secret", data);
        if (keyer.KeyFor(t, user).Hex() != HexOf(mac.data(), 16)) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("user keys convert to and from hex and give the routing hash", "[model][keyer]") {
  auto key = UserKey::FromHex("0123456789abcdef00112233445566ff");
  REQUIRE(key.ok());
  CHECK(key->RoutingHash() == 0x0123456789abcdefull);
  CHECK(key->Hex() == "0123456789abcdef00112233445566ff");
  auto upper = UserKey::FromHex("0123456789ABCDEF00112233445566FF");
  REQUIRE(upper.ok());
  CHECK(*upper == *key);
  CHECK_FALSE(UserKey::FromHex("0123").ok());
  CHECK_FALSE(UserKey::FromHex("0123456789abcdef00112233445566fg").ok());
  CHECK(UserKey::FromHex("zz").status().message() ==
        "bad user key \"zz\" (want 32 hex characters)");
}

TEST_CASE("user key parsing accepts exactly the hex digits at every position", "[model][keyer]") {
  const std::string good = "0123456789abcdef00112233445566ff";
  int accepted = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string hex = good;
      hex[pos] = static_cast<char>(c);
      const bool is_hex =
          (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      UserKey parsed;
      REQUIRE(UserKey::ParseHex(hex.data(), parsed) == is_hex);
      REQUIRE(UserKey::FromHex(hex).ok() == is_hex);
      if (is_hex) {
        ++accepted;
        const int value = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        const uint8_t byte = parsed.bytes[pos / 2];
        REQUIRE((pos % 2 == 0 ? byte >> 4 : byte & 0xf) == value);
      }
    }
  }
  CHECK(accepted == 32 * 22);
}

}  // namespace
}  // namespace rt
