#include "server/model/batch_codec.h"

#include <catch2/catch.hpp>
#include <cctype>

#include "server/model/batch_ack.h"

namespace rt {
namespace {

UserKey KeyOf(uint8_t seed) {
  UserKey key;
  for (size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<uint8_t>(seed * 17 + i);
  return key;
}

std::string ErrorOf(std::string_view body) {
  auto decoded = DecodeBatch(body);
  return decoded.ok() ? "ok" : decoded.status().message();
}

TEST_CASE("batch lines encode as S K c|i", "[model][batch]") {
  std::string out;
  AppendBatchLine(out, {42, KeyOf(1), Action::kClick});
  AppendBatchLine(out, {9223372036854775807, KeyOf(2), Action::kImpression});
  CHECK(out == "42 " + KeyOf(1).Hex() + " c\n9223372036854775807 " + KeyOf(2).Hex() + " i\n");
}

TEST_CASE("a batch round-trips through encode and decode", "[model][batch]") {
  std::vector<BatchEvent> events;
  std::string body;
  for (int i = 0; i < 100; ++i) {
    events.push_back(
        {i % 3, KeyOf(static_cast<uint8_t>(i)), i % 2 ? Action::kClick : Action::kImpression});
    AppendBatchLine(body, events.back());
  }
  auto decoded = DecodeBatch(body);
  REQUIRE(decoded.ok());
  CHECK(*decoded == events);
  // The last line may lack its newline.
  body.pop_back();
  auto no_final_newline = DecodeBatch(body);
  REQUIRE(no_final_newline.ok());
  CHECK(*no_final_newline == events);
  CHECK(DecodeBatch("")->empty());
}

TEST_CASE("a malformed batch line is named by its number", "[model][batch]") {
  const std::string good = "1 " + KeyOf(1).Hex() + " c\n";
  CHECK(ErrorOf(good + good + "1 zz c\n" + good) == "line 3: bad user key \"zz\"");
  CHECK(ErrorOf(good + "x " + KeyOf(1).Hex() + " c\n") == "line 2: bad slice \"x\"");
  CHECK(ErrorOf("-1 " + KeyOf(1).Hex() + " c\n") == "line 1: bad slice \"-1\"");
  CHECK(ErrorOf("1 " + KeyOf(1).Hex() + " x\n") == "line 1: bad action (want c or i) \"x\"");
  CHECK(ErrorOf("1 " + KeyOf(1).Hex() + " c \n") == "line 1: bad action (want c or i) \"c \"");
  CHECK(ErrorOf(good + "\n" + good) == "line 2: expected \"S K c|i\", got \"\"");
  CHECK(ErrorOf(good + "1 " + KeyOf(1).Hex()) ==
        "line 2: expected \"S K c|i\", got \"1 " + KeyOf(1).Hex() + "\"");
  CHECK(ErrorOf("99999999999999999999 " + KeyOf(1).Hex() + " c") ==
        "line 1: bad slice \"99999999999999999999\"");
  CHECK(ErrorOf(good + "1 " + KeyOf(1).Hex() + " c\r\n") ==
        "line 2: bad action (want c or i) \"c\r\"");
}

TEST_CASE("batch lines outside the common shape decode as before", "[model][batch]") {
  const std::string key = KeyOf(3).Hex();
  std::string upper = key;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // 18 digits is the one-pass decoder's limit; 19 take the general path.
  auto decoded = DecodeBatch("999999999999999999 " + key + " c\n9223372036854775807 " + key +
                             " i\n007 " + upper + " c\n-0 " + key + " i");
  REQUIRE(decoded.ok());
  REQUIRE(decoded->size() == 4);
  CHECK((*decoded)[0] == BatchEvent{999999999999999999, KeyOf(3), Action::kClick});
  CHECK((*decoded)[1] == BatchEvent{9223372036854775807, KeyOf(3), Action::kImpression});
  CHECK((*decoded)[2] == BatchEvent{7, KeyOf(3), Action::kClick});
  CHECK((*decoded)[3] == BatchEvent{0, KeyOf(3), Action::kImpression});

  std::string bad_digit = key;
  bad_digit[31] = 'g';
  CHECK(ErrorOf("1 " + bad_digit + " c\n") == "line 1: bad user key \"" + bad_digit + "\"");
  CHECK(ErrorOf("1 " + key + "0 c\n") == "line 1: bad user key \"" + key + "0\"");
  CHECK(ErrorOf("1 " + key + " cc\n") == "line 1: bad action (want c or i) \"cc\"");
  CHECK(ErrorOf("1  " + key + " c\n") == "line 1: bad user key \"\"");
  CHECK(ErrorOf("9223372036854775808 " + key + " c") ==
        "line 1: bad slice \"9223372036854775808\"");
  CHECK(ErrorOf("1 " + key + " ") == "line 1: bad action (want c or i) \"\"");
  CHECK(ErrorOf(std::string("1 ") + key.substr(0, 31) + std::string("\0 c", 3)) ==
        "line 1: bad user key \"" + key.substr(0, 31) + std::string(1, '\0') + "\"");
}

TEST_CASE("the batch ack JSON round-trips", "[model][batch]") {
  BatchAck ack{17, 3, 2, {{4, {1, 2, 3}}, {5, {10, 0, 7}}}};
  const std::string json = FormatBatchAck(ack);
  CHECK(json == R"({"acked_seq":17,"applied":3,"duplicates":2,"slices":[)"
                R"({"slice":4,"unique_users":1,"clicks":2,"impressions":3},)"
                R"({"slice":5,"unique_users":10,"clicks":0,"impressions":7}]})");
  auto parsed = ParseBatchAck(json);
  REQUIRE(parsed.ok());
  CHECK(*parsed == ack);
  CHECK(FormatBatchAck(BatchAck{1, 0, 0, {}}) ==
        R"({"acked_seq":1,"applied":0,"duplicates":0,"slices":[]})");
  const BatchAck extreme{UINT64_MAX, 0, 0, {{INT64_MAX, {UINT64_MAX, 0, 1}}}};
  auto parsed_extreme = ParseBatchAck(FormatBatchAck(extreme));
  REQUIRE(parsed_extreme.ok());
  CHECK(*parsed_extreme == extreme);
}

TEST_CASE("a bad batch ack is an error, not an exception", "[model][batch]") {
  CHECK_FALSE(ParseBatchAck("not json").ok());
  CHECK_FALSE(ParseBatchAck(R"({"duplicates":0,"slices":[]})").ok());
  CHECK_FALSE(ParseBatchAck(R"({"acked_seq":-1,"duplicates":0,"slices":[]})").ok());
  auto no_applied = ParseBatchAck(R"({"acked_seq":1,"duplicates":0,"slices":[]})");
  REQUIRE(no_applied.ok());
  CHECK(no_applied->acked_seq == 1);
}

// 1e300 as a slice was undefined behaviour (a float out of int64_t's range), seen by
// UBSan on the tests/fuzz/fuzz_worker_answers harness.
TEST_CASE("a batch ack slice that is not an integer 0..2^63-1 is an error", "[model][batch]") {
  const auto with_slice = [](const std::string& slice) {
    return ParseBatchAck(R"({"acked_seq":1,"duplicates":0,"slices":[{"slice":)" + slice +
                         R"(,"unique_users":1,"clicks":1,"impressions":0}]})");
  };
  CHECK(with_slice("9223372036854775807").ok());
  for (const char* bad : {"1e300", "-1e300", "1.5", "-1", "9223372036854775808", "\"3\""}) {
    const auto parsed = with_slice(bad);
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.status().code() == Status::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace rt
