#include "cli/http_client.h"

#include <curl/curl.h>

#include <mutex>

namespace rt::cli {
namespace {

constexpr std::string_view kAnalyticsPath = "/analytics";
constexpr size_t kMaxReasonBytes = 200;

void InitCurlOnce() {
  // curl_global_init is not thread-safe and must run before any handle exists;
  // it is never undone because handles may live until exit.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendToString(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

struct HttpClient::Impl {
  struct EasyDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
  };
  std::unique_ptr<CURL, EasyDeleter> easy;
  char error[CURL_ERROR_SIZE] = {};
};

std::string NormalizeBaseUrl(std::string_view url) {
  while (!url.empty() && (url.front() == ' ' || url.front() == '\t')) url.remove_prefix(1);
  while (!url.empty() && (url.back() == ' ' || url.back() == '\t' || url.back() == '/')) {
    url.remove_suffix(1);
  }
  if (EndsWith(url, kAnalyticsPath)) url.remove_suffix(kAnalyticsPath.size());
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  std::string result;
  if (url.find("://") == std::string_view::npos) result = "http://";
  result.append(url);
  return result;
}

std::string EncodeQueryValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(value.size());
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                            (byte >= '0' && byte <= '9') || byte == '-' || byte == '.' ||
                            byte == '_' || byte == '~';
    if (unreserved) {
      encoded += c;
    } else {
      encoded += '%';
      encoded += kHex[byte >> 4];
      encoded += kHex[byte & 0xF];
    }
  }
  return encoded;
}

std::string DescribeHttpError(const HttpResponse& response) {
  std::string_view reason = response.body;
  reason = reason.substr(0, reason.find_first_of("\r\n"));
  if (reason.size() > kMaxReasonBytes) reason = reason.substr(0, kMaxReasonBytes);
  std::string text = std::to_string(response.status);
  if (!reason.empty()) {
    text += ' ';
    text.append(reason);
  }
  return text;
}

HttpClient::HttpClient(std::string_view base_url, HttpClientOptions options)
    : base_url_(NormalizeBaseUrl(base_url)), options_(options), impl_(std::make_unique<Impl>()) {
  InitCurlOnce();
  impl_->easy.reset(curl_easy_init());
  if (!impl_->easy) return;  // Perform reports it.
  CURL* easy = impl_->easy.get();
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  // Cluster nodes are addressed directly; an http_proxy meant for the outside
  // world must not swallow requests to 10.x or 127.0.0.1.
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, impl_->error);
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Get(std::string_view path_and_query,
                                     const std::vector<std::string>& headers) {
  return Perform(false, path_and_query, headers, {});
}

Result<HttpResponse> HttpClient::Post(std::string_view path_and_query,
                                      const std::vector<std::string>& headers,
                                      std::string_view body) {
  return Perform(true, path_and_query, headers, body);
}

Result<HttpResponse> HttpClient::Perform(bool post, std::string_view path_and_query,
                                         const std::vector<std::string>& headers,
                                         std::string_view body) {
  CURL* easy = impl_->easy.get();
  if (easy == nullptr) return Status::Internal("curl_easy_init failed");

  std::string url = base_url_;
  url.append(path_and_query);
  Slist header_list;
  for (const std::string& header : headers) {
    curl_slist* grown = curl_slist_append(header_list.get(), header.c_str());
    if (grown == nullptr) return Status::Internal("curl_slist_append failed");
    (void)header_list.release();
    header_list.reset(grown);
  }
  if (post) {
    // libcurl would otherwise wait for a 100-continue on larger bodies.
    curl_slist* grown = curl_slist_append(header_list.get(), "Expect:");
    if (grown == nullptr) return Status::Internal("curl_slist_append failed");
    (void)header_list.release();
    header_list.reset(grown);
  }

  HttpResponse response;
  impl_->error[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response.body);
  if (post) {
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    // A null POSTFIELDS would make libcurl read the body from stdin.
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  }
  const CURLcode code = curl_easy_perform(easy);
  // The handle keeps the list pointer; detach it before the list is freed.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  if (post) curl_easy_setopt(easy, CURLOPT_POSTFIELDS, nullptr);
  if (code != CURLE_OK) {
    const std::string reason = impl_->error[0] != '\0' ? impl_->error : curl_easy_strerror(code);
    std::string message = "cannot reach " + base_url_ + ": " + reason;
    // OpenSSL's "wrong version number" is what a TLS hello to a plain HTTP port gets:
    // an rt node itself never speaks TLS. Decided on curl's code and the scheme.
    if (code == CURLE_SSL_CONNECT_ERROR && base_url_.starts_with("https://")) {
      message +=
          " (rt nodes speak plain HTTP; TLS is terminated in front of them, see "
          "examples/nginx/rt-api.conf: use http:// for a node, https:// only for such a proxy)";
    }
    return Status::Unavailable(message);
  }
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace rt::cli
