#include "server/api/batch_exchange.h"

#include <catch2/catch.hpp>
#include <string>

#include "server/model/worker_protocol.h"

namespace rt {
namespace {

http::Response Answer(http::StatusCode code, std::string body,
                      std::vector<std::pair<std::string_view, std::string>> headers = {}) {
  http::Response response{code, 11};
  response.body() = std::move(body);
  for (const auto& [name, value] : headers) response.set(name, value);
  return response;
}

http::Response Gap(uint64_t expected, std::string reason) {
  return Answer(
      http::StatusCode::conflict, std::move(reason),
      {{kErrorHeader, std::string(kErrorSeqGap)}, {kExpectedSeqHeader, std::to_string(expected)}});
}

std::string AckJson(uint64_t acked_seq) {
  BatchAck ack;
  ack.acked_seq = acked_seq;
  return FormatBatchAck(ack);
}

TEST_CASE("a batch request carries the stream, seq and key id headers", "[api][exchange]") {
  const http::Request request = MakeBatchRequest("0:17", 42, "abcd1234", "1 k c\n");
  CHECK(request.method() == http::Verb::post);
  CHECK(request.target() == "/worker/batch");
  CHECK(request[kStreamHeader] == "0:17");
  CHECK(request[kSeqHeader] == "42");
  CHECK(request[kKeyIdHeader] == "abcd1234");
  CHECK(request.body() == "1 k c\n");
}

TEST_CASE("a 409 gap is judged on X-Rt-Expected-Seq, never on its reason text", "[api][exchange]") {
  // Batch 11..20. The reason names other numbers on purpose.
  const BatchReply inside =
      ClassifyBatchReply(Status::Ok(), Gap(15, "please resend from 99"), 11, 10);
  CHECK(inside.kind == ReplyKind::kHeadApplied);
  CHECK(inside.expected_seq == 15);
  CHECK(inside.applied == 4);

  const BatchReply all = ClassifyBatchReply(Status::Ok(), Gap(21, "expected seq 3"), 11, 10);
  CHECK(all.kind == ReplyKind::kHeadApplied);
  CHECK(all.applied == 10);

  const BatchReply below = ClassifyBatchReply(Status::Ok(), Gap(4, "whatever"), 11, 10);
  CHECK(below.kind == ReplyKind::kStreamLost);
  CHECK(below.expected_seq == 4);

  const BatchReply beyond = ClassifyBatchReply(Status::Ok(), Gap(22, ""), 11, 10);
  CHECK(beyond.kind == ReplyKind::kRetrySlowly);

  const BatchReply untyped = ClassifyBatchReply(
      Status::Ok(), Answer(http::StatusCode::conflict, "expected seq 15\n"), 11, 10);
  CHECK(untyped.kind == ReplyKind::kRetrySlowly);
  CHECK(untyped.expected_seq == 0);
  CHECK_THAT(untyped.problem, Catch::Contains("X-Rt-Expected-Seq"));

  const BatchReply garbled = ClassifyBatchReply(
      Status::Ok(),
      Answer(http::StatusCode::conflict, "", {{kExpectedSeqHeader, std::string("15x")}}), 11, 10);
  CHECK(garbled.kind == ReplyKind::kRetrySlowly);
}

TEST_CASE("a key mismatch is recognised by its X-Rt-Error header alone", "[api][exchange]") {
  const BatchReply typed =
      ClassifyBatchReply(Status::Ok(),
                         Answer(http::StatusCode::conflict, "secrets differ\n",
                                {{kErrorHeader, std::string(kErrorKeyMismatch)}}),
                         1, 5);
  CHECK(typed.kind == ReplyKind::kKeyMismatch);
  CHECK_THAT(typed.problem, Catch::Contains("secrets differ"));
  const BatchReply text_only = ClassifyBatchReply(
      Status::Ok(), Answer(http::StatusCode::conflict, "key id mismatch\n"), 1, 5);
  CHECK(text_only.kind != ReplyKind::kKeyMismatch);
}

TEST_CASE("a 401 is a key refusal to retry slowly, not a batch that can never succeed",
          "[api][exchange][auth]") {
  const BatchReply reply =
      ClassifyBatchReply(Status::Ok(),
                         Answer(http::StatusCode::unauthorized, "bad signature\n",
                                {{kErrorHeader, std::string(kErrorUnauthorized)}}),
                         1, 5);
  CHECK(reply.kind == ReplyKind::kUnauthorized);
  CHECK(reply.status == 401);
  CHECK_THAT(reply.problem, Catch::EndsWith(": bad signature"));
}

TEST_CASE("acks are checked against the seqs sent", "[api][exchange]") {
  const BatchReply exact =
      ClassifyBatchReply(Status::Ok(), Answer(http::StatusCode::ok, AckJson(20)), 11, 10);
  CHECK(exact.kind == ReplyKind::kAcked);
  REQUIRE(exact.ack.has_value());
  CHECK(exact.ack->acked_seq == 20);
  CHECK(exact.problem.empty());
  const BatchReply beyond =
      ClassifyBatchReply(Status::Ok(), Answer(http::StatusCode::ok, AckJson(21)), 11, 10);
  CHECK(beyond.kind == ReplyKind::kAckBeyondSent);
  const BatchReply shorter =
      ClassifyBatchReply(Status::Ok(), Answer(http::StatusCode::ok, AckJson(19)), 11, 10);
  CHECK(shorter.kind == ReplyKind::kRetrySlowly);
  const BatchReply unreadable =
      ClassifyBatchReply(Status::Ok(), Answer(http::StatusCode::ok, "{"), 11, 10);
  CHECK(unreadable.kind == ReplyKind::kRetry);
}

TEST_CASE("transient failures are retried and other 4xx refuse the batch", "[api][exchange]") {
  const http::Response none;
  CHECK(ClassifyBatchReply(Status::Unavailable("connect refused"), none, 1, 1).kind ==
        ReplyKind::kRetry);
  for (const auto code :
       {http::StatusCode::service_unavailable, http::StatusCode::internal_server_error,
        http::StatusCode::request_timeout, http::StatusCode::too_many_requests}) {
    INFO(static_cast<int>(code));
    CHECK(ClassifyBatchReply(Status::Ok(), Answer(code, "x\n"), 1, 1).kind == ReplyKind::kRetry);
  }
  for (const auto code : {http::StatusCode::bad_request, http::StatusCode::forbidden,
                          http::StatusCode::not_found, http::StatusCode::payload_too_large}) {
    INFO(static_cast<int>(code));
    const BatchReply reply = ClassifyBatchReply(Status::Ok(), Answer(code, "why\nmore"), 1, 1);
    CHECK(reply.kind == ReplyKind::kRefused);
    CHECK(reply.status == static_cast<int>(code));
    CHECK(reply.problem.find('\n') == std::string::npos);
    CHECK_THAT(reply.problem, Catch::EndsWith(": why"));
  }
}

}  // namespace
}  // namespace rt
