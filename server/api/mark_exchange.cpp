#include "server/api/mark_exchange.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "server/model/worker_protocol.h"

namespace rt {

namespace {

// Percent-encodes all but RFC 3986 unreserved bytes (stream ids are "node:epoch").
std::string EncodeQueryValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

MarkReply Reply(MarkKind kind, std::string problem) {
  MarkReply reply;
  reply.kind = kind;
  reply.problem = std::move(problem);
  return reply;
}

}  // namespace

http::Request MakeMarkRequest(std::string_view stream) {
  http::Request request{http::Verb::get,
                        std::string(kMarkPath) + "?stream=" + EncodeQueryValue(stream), 11};
  return request;
}

http::Request MakeStaleRequest(std::string_view stream, uint64_t mark, uint64_t need) {
  return http::Request{http::Verb::post,
                       std::string(kStalePath) + "?stream=" + EncodeQueryValue(stream) +
                           "&mark=" + std::to_string(mark) + "&need=" + std::to_string(need),
                       11};
}

MarkReply ClassifyMarkReply(const Status& transport, const http::Response& response,
                            std::string_view stream) {
  if (!transport.ok()) return Reply(MarkKind::kRetry, transport.message());
  const int code = response.result_int();
  std::string said = response.body().substr(0, 128);
  while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
  const std::string status_text = "answered " + std::to_string(code) + " to " +
                                  std::string(kMarkPath) + (said.empty() ? "" : ": " + said);
  if (code == 200) {
    try {
      const nlohmann::json body = nlohmann::json::parse(response.body());
      if (body.at("stream").get<std::string>() != stream) {
        return Reply(MarkKind::kRetrySlowly, "the mark answer names another stream");
      }
      MarkReply reply;
      reply.kind = MarkKind::kMark;
      reply.mark = body.at("mark").get<uint64_t>();
      return reply;
    } catch (const nlohmann::json::exception& e) {
      return Reply(MarkKind::kRetrySlowly, std::string("unreadable mark answer: ") + e.what());
    }
  }
  if (code == 401) return Reply(MarkKind::kUnauthorized, status_text);
  if (code == 404) return Reply(MarkKind::kNoEndpoint, status_text);
  if (code >= 500 || code == 408 || code == 429) return Reply(MarkKind::kRetry, status_text);
  if (code >= 400) return Reply(MarkKind::kRefused, status_text);
  return Reply(MarkKind::kRetrySlowly, status_text);
}

}  // namespace rt
