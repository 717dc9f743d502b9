#include "server/model/event_query.h"

#include <boost/url/decode_view.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/string_view.hpp>

namespace rt {
namespace {

namespace urls = boost::urls;

urls::encoding_opts FormOpts() {
  urls::encoding_opts opts;
  opts.space_as_plus = true;  // HTML form encoding, which clients use for usernames
  return opts;
}

std::string_view Raw(const urls::pct_string_view& text) { return {text.data(), text.size()}; }

// Text with nothing to decode (no percent-escape, no '+' standing for a space): the
// usual case, compared and copied as it is instead of byte by byte through a decoder.
bool IsPlain(std::string_view raw) { return raw.find_first_of("%+") == std::string_view::npos; }

bool KeyIs(const urls::param_pct_view& p, std::string_view name) {
  const std::string_view raw = Raw(p.key);
  if (raw == name) return true;
  if (IsPlain(raw)) return false;
  return urls::decode_view(p.key, FormOpts()) == urls::string_view(name.data(), name.size());
}

void DecodeInto(const urls::param_pct_view& p, std::string& out) {
  const std::string_view raw = Raw(p.value);
  if (IsPlain(raw)) {
    out.assign(raw);
    return;
  }
  out.clear();
  urls::decode_view decoded(p.value, FormOpts());
  out.reserve(decoded.size());
  for (char c : decoded) out.push_back(c);
}

Status Repeated(std::string_view name) {
  return Status::InvalidArgument("repeated parameter \"" + std::string(name) + "\"");
}

// The query part of a target ("/path?q" or "q"), validated by Boost.URL.
Result<urls::params_encoded_view> QueryOf(std::string_view target) {
  if (!target.empty() && target.front() == '/') {
    size_t q = target.find('?');
    target = q == std::string_view::npos ? std::string_view("") : target.substr(q + 1);
  }
  // Boost.URL 1.81's query iteration reads up to a NUL byte instead of stopping at
  // the view's end (boostorg/url#757), and a Beast request target is not
  // NUL-terminated: parse a terminated per-thread copy. The returned view refers to
  // it, so it is valid until this thread's next call.
  thread_local std::string terminated;
  terminated.assign(target.data(), target.size());
  auto parsed = urls::parse_query(urls::string_view(terminated.data(), terminated.size()));
  if (!parsed) return Status::InvalidArgument("malformed query string (bad percent-encoding)");
  return *parsed;
}

// A flag parameter: present with no value, an empty value, "1" or "true".
Status CheckFlagValue(const urls::param_pct_view& p, std::string_view name) {
  if (!p.has_value) return Status::Ok();
  urls::decode_view value(p.value, FormOpts());
  if (value.empty() || value == "1" || value == "true") return Status::Ok();
  std::string shown;
  for (char c : value) {
    if (shown.size() == 32) {
      shown += "...";
      break;
    }
    shown.push_back(c);
  }
  return Status::InvalidArgument("bad value for parameter \"" + std::string(name) + "\": \"" +
                                 shown + "\"");
}

}  // namespace

Result<EventQuery> ParseEventQuery(std::string_view target, std::string_view time_param) {
  auto params = QueryOf(target);
  if (!params.ok()) return params.status();
  EventQuery event;
  bool have_time = false, have_user = false, click = false, impression = false;
  for (const urls::param_pct_view p : *params) {
    if (p.key.empty()) continue;  // "&&" or a lone "="
    if (KeyIs(p, time_param)) {
      if (have_time) return Repeated(time_param);
      have_time = true;
      DecodeInto(p, event.timestamp_text);
    } else if (KeyIs(p, "user")) {
      if (have_user) return Repeated("user");
      have_user = true;
      if (p.value.decoded_size() > kMaxUserBytes) {
        return Status::InvalidArgument("parameter \"user\" longer than " +
                                       std::to_string(kMaxUserBytes) + " bytes");
      }
      DecodeInto(p, event.user);
    } else if (KeyIs(p, "click")) {
      if (click) return Repeated("click");
      if (Status s = CheckFlagValue(p, "click"); !s.ok()) return s;
      click = true;
    } else if (KeyIs(p, "impression")) {
      if (impression) return Repeated("impression");
      if (Status s = CheckFlagValue(p, "impression"); !s.ok()) return s;
      impression = true;
    }
  }
  if (!have_time)
    return Status::InvalidArgument("missing parameter \"" + std::string(time_param) + "\"");
  if (event.timestamp_text.empty()) {
    return Status::InvalidArgument("empty parameter \"" + std::string(time_param) + "\"");
  }
  if (!have_user) return Status::InvalidArgument("missing parameter \"user\"");
  if (event.user.empty()) return Status::InvalidArgument("empty parameter \"user\"");
  if (click == impression) {
    return Status::InvalidArgument(click ? "both \"click\" and \"impression\" given"
                                         : "neither \"click\" nor \"impression\" given");
  }
  event.action = click ? Action::kClick : Action::kImpression;
  return event;
}

Result<std::optional<std::string>> ParseOptionalQuery(std::string_view target,
                                                      std::string_view name) {
  auto params = QueryOf(target);
  if (!params.ok()) return params.status();
  std::optional<std::string> text;
  for (const urls::param_pct_view p : *params) {
    if (p.key.empty() || !KeyIs(p, name)) continue;
    if (text) return Repeated(name);
    DecodeInto(p, text.emplace());
  }
  if (text && text->empty()) {
    return Status::InvalidArgument("empty parameter \"" + std::string(name) + "\"");
  }
  return text;
}

Result<std::string> ParseTimeQuery(std::string_view target, std::string_view time_param) {
  Result<std::optional<std::string>> text = ParseOptionalQuery(target, time_param);
  if (!text.ok()) return text.status();
  if (!*text) {
    return Status::InvalidArgument("missing parameter \"" + std::string(time_param) + "\"");
  }
  return std::move(**text);
}

}  // namespace rt
