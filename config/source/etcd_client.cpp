#include "config/source/etcd_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace rt {
namespace {

using nlohmann::json;

void GlobalInitOnce() {
  // curl_global_init is not thread-safe and must run before any handle exists.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// The gateway writes int64 fields as JSON strings; absent means 0.
int64_t Int64Field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number_integer()) return it->get<int64_t>();
  return 0;
}

std::string Cut(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.size() > 200 ? text.substr(0, 200) + "..." : text;
}

// An etcd error answer ({"error": ..., "code": N, "message": ...}) as a Status.
Status GatewayError(const std::string& what, long code, const std::string& body) {
  std::string message = body;
  try {
    const json parsed = json::parse(body);
    if (parsed.contains("message")) message = parsed["message"].get<std::string>();
  } catch (const json::exception&) {
  }
  if (message.find("compacted") != std::string::npos) {
    return Status::InvalidArgument("etcd " + what + ": " + Cut(message));
  }
  return Status::Internal("etcd " + what + ": HTTP " + std::to_string(code) + ": " + Cut(message));
}

Result<EtcdEvent> EventOf(const json& event) {
  EtcdEvent out;
  out.deleted = event.value("type", "") == "DELETE";
  const json& kv = event.at("kv");
  out.mod_revision = Int64Field(kv, "mod_revision");
  if (!out.deleted && kv.contains("value")) {
    Result<std::string> value = Base64Decode(kv["value"].get<std::string>());
    if (!value.ok()) return value.status();
    out.value = std::move(*value);
  }
  return out;
}

// The state a watch's curl callbacks share with Watch.
struct WatchStream {
  const EtcdClient::EventHandler* on_event = nullptr;
  const std::function<void()>* on_created = nullptr;
  const std::atomic<bool>* stop = nullptr;
  std::string pending;  // an incomplete line
  bool created = false;
  bool done = false;  // on_event said stop
  Status error;       // a canceled watch or a bad line
  int64_t compacted_to = 0;
};

// One message of the watch stream: {"result": {...}} or {"error": {...}}.
void OnWatchLine(WatchStream& stream, const std::string& line) {
  try {
    const json message = json::parse(line);
    if (message.contains("error")) {
      stream.error = Status::Unavailable("etcd watch: " + Cut(message["error"].dump()));
      return;
    }
    const json& result = message.at("result");
    if (result.value("created", false)) {
      stream.created = true;
      if (*stream.on_created) (*stream.on_created)();
    }
    if (result.value("canceled", false)) {
      const int64_t compacted = Int64Field(result, "compact_revision");
      stream.compacted_to = compacted;
      stream.error =
          compacted > 0
              ? Status::Conflict("etcd watch: revision compacted; oldest kept " +
                                 std::to_string(compacted))
              : Status::Unavailable("etcd watch canceled: " + result.value("cancel_reason", ""));
      return;
    }
    for (const json& event : result.value("events", json::array())) {
      Result<EtcdEvent> parsed = EventOf(event);
      if (!parsed.ok()) {
        stream.error = parsed.status().WithContext("etcd watch");
        return;
      }
      if (!(*stream.on_event)(*parsed)) {
        stream.done = true;
        return;
      }
    }
  } catch (const std::exception& e) {
    stream.error = Status::Internal("etcd watch: bad message \"" + Cut(line) + "\": " + e.what());
  }
}

size_t OnWatchData(char* data, size_t size, size_t count, void* user) {
  WatchStream& stream = *static_cast<WatchStream*>(user);
  stream.pending.append(data, size * count);
  size_t newline;
  while ((newline = stream.pending.find('\n')) != std::string::npos) {
    const std::string line = stream.pending.substr(0, newline);
    stream.pending.erase(0, newline + 1);
    if (line.find_first_not_of(" \r\t") != std::string::npos) OnWatchLine(stream, line);
    if (stream.done || !stream.error.ok()) return 0;  // ends the transfer
  }
  return size * count;
}

int OnWatchProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<WatchStream*>(user)->stop->load() ? 1 : 0;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Status::Internal("etcd: bad base64 length");
  std::string out(3 * text.size() / 4 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return Status::Internal("etcd: bad base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t size = static_cast<size_t>(n);
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with("=")) {
    size -= 1;
  }
  out.resize(size);
  return out;
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {
  GlobalInitOnce();
}

Result<EtcdClient::Answer> EtcdClient::Post(const std::string& path,
                                            const std::string& body) const {
  std::string failures;
  const size_t first = preferred_.load();
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t index = (first + i) % endpoints_.size();
    const std::string url = "http://" + endpoints_[index] + path;
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) return Status::Internal("etcd: curl_easy_init failed");
    std::unique_ptr<curl_slist, SlistDeleter> headers(
        curl_slist_append(nullptr, "Content-Type: application/json"));
    Answer answer;
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(easy.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &answer.body);
    const CURLcode rc = curl_easy_perform(easy.get());
    if (rc == CURLE_OK) curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &answer.code);
    if (rc == CURLE_OK && answer.code < 500) {
      preferred_.store(index);
      return answer;
    }
    failures += (failures.empty() ? "" : "; ") + endpoints_[index] + ": " +
                (rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(answer.code));
  }
  return Status::Unavailable("etcd unreachable (" + failures + ")");
}

Result<EtcdValue> EtcdClient::Get(const std::string& key, int64_t revision) const {
  json request = {{"key", Base64Encode(key)}};
  if (revision > 0) request["revision"] = std::to_string(revision);
  Result<Answer> answer = Post("/v3/kv/range", request.dump());
  if (!answer.ok()) return answer.status();
  if (answer->code != 200) return GatewayError("range " + key, answer->code, answer->body);
  try {
    const json parsed = json::parse(answer->body);
    EtcdValue value;
    value.header_revision = Int64Field(parsed.at("header"), "revision");
    const json kvs = parsed.value("kvs", json::array());
    if (kvs.empty()) return value;
    value.exists = true;
    value.mod_revision = Int64Field(kvs[0], "mod_revision");
    Result<std::string> decoded = Base64Decode(kvs[0].value("value", ""));
    if (!decoded.ok()) return decoded.status();
    value.value = std::move(*decoded);
    return value;
  } catch (const std::exception& e) {
    return Status::Internal("etcd range " + key + ": bad answer: " + e.what());
  }
}

Result<int64_t> EtcdClient::CompareAndPut(const std::string& key, const std::string& value,
                                          int64_t expected_mod_revision) const {
  const std::string key64 = Base64Encode(key);
  const json request = {
      {"compare", json::array({{{"key", key64},
                                {"target", "MOD"},
                                {"result", "EQUAL"},
                                {"mod_revision", std::to_string(expected_mod_revision)}}})},
      {"success",
       json::array({{{"request_put", {{"key", key64}, {"value", Base64Encode(value)}}}}})}};
  Result<Answer> answer = Post("/v3/kv/txn", request.dump());
  if (!answer.ok()) return answer.status();
  if (answer->code != 200) return GatewayError("txn " + key, answer->code, answer->body);
  try {
    const json parsed = json::parse(answer->body);
    const int64_t revision = Int64Field(parsed.at("header"), "revision");
    // The gateway leaves out false booleans: no "succeeded" is a failed compare.
    if (!parsed.value("succeeded", false)) {
      return Status::Conflict("etcd key " + key + " changed (now at revision " +
                              std::to_string(revision) + ")");
    }
    return revision;
  } catch (const std::exception& e) {
    return Status::Internal("etcd txn " + key + ": bad answer: " + e.what());
  }
}

Status EtcdClient::Watch(const std::string& key, int64_t start_revision,
                         const EventHandler& on_event, const std::atomic<bool>& stop,
                         const std::function<void()>& on_created, int64_t* compacted_to) const {
  const json request = {
      {"create_request",
       {{"key", Base64Encode(key)},
        {"start_revision", std::to_string(std::max<int64_t>(start_revision, 1))}}}};
  const std::string body = request.dump();
  std::string failures;
  const size_t first = preferred_.load();
  for (size_t i = 0; i < endpoints_.size() && !stop.load(); ++i) {
    const size_t index = (first + i) % endpoints_.size();
    const std::string url = "http://" + endpoints_[index] + "/v3/watch";
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) return Status::Internal("etcd: curl_easy_init failed");
    std::unique_ptr<curl_slist, SlistDeleter> headers(
        curl_slist_append(nullptr, "Content-Type: application/json"));
    WatchStream stream;
    stream.on_event = &on_event;
    stream.on_created = &on_created;
    stream.stop = &stop;
    curl_easy_setopt(easy.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(easy.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(easy.get(), CURLOPT_NOSIGNAL, 1L);
    // A peer that vanishes without closing (a partition) is found by TCP keepalive.
    curl_easy_setopt(easy.get(), CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy.get(), CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(easy.get(), CURLOPT_TCP_KEEPINTVL, 5L);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, OnWatchData);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &stream);
    curl_easy_setopt(easy.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy.get(), CURLOPT_XFERINFOFUNCTION, OnWatchProgress);
    curl_easy_setopt(easy.get(), CURLOPT_XFERINFODATA, &stream);
    const CURLcode rc = curl_easy_perform(easy.get());
    if (stream.done || stop.load()) return Status::Ok();
    if (!stream.error.ok()) {
      if (compacted_to != nullptr) *compacted_to = stream.compacted_to;
      return stream.error;
    }
    if (stream.created) {
      preferred_.store(index);
      return Status::Unavailable("etcd watch on " + endpoints_[index] +
                                 " ended: " + curl_easy_strerror(rc));
    }
    long code = 0;
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &code);
    failures += (failures.empty() ? "" : "; ") + endpoints_[index] + ": " +
                (rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP " + std::to_string(code));
  }
  if (stop.load()) return Status::Ok();
  return Status::Unavailable("etcd unreachable (" + failures + ")");
}

Result<std::vector<EtcdEvent>> EtcdClient::History(const std::string& key) const {
  Result<EtcdValue> now = Get(key);
  if (!now.ok()) return now.status();
  // The newest change of the key: its mod_revision, or, for a deleted key, not known
  // from a range; then the watch ends at the first quiet moment instead.
  const int64_t last = now->exists ? now->mod_revision : 0;
  if (last == 0 && now->header_revision <= 1) return std::vector<EtcdEvent>{};
  std::vector<EtcdEvent> events;
  int64_t start = 1;
  for (int attempt = 0; attempt < 3; ++attempt) {
    events.clear();
    std::atomic<bool> stop{false};
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    std::atomic<bool> quiet_stop{false};
    // The stop flag doubles as the deadline: a watch with nothing more to send
    // would otherwise wait for ever.
    std::thread timer([&] {
      while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      quiet_stop.store(true);
    });
    int64_t compacted_to = 0;
    const Status status = Watch(
        key, start,
        [&](const EtcdEvent& event) {
          events.push_back(event);
          return !(last > 0 && event.mod_revision >= last);
        },
        quiet_stop, {}, &compacted_to);
    stop.store(true);
    timer.join();
    if (status.code() == Status::Code::kConflict) {
      start = compacted_to;  // compacted: again from the oldest revision kept
      continue;
    }
    if (!status.ok()) return status;
    if (last > 0 && (events.empty() || events.back().mod_revision < last)) {
      return Status::Unavailable("etcd history of " + key + ": incomplete before the deadline");
    }
    return events;
  }
  return Status::Unavailable("etcd history of " + key + ": compacted while reading");
}

}  // namespace rt
