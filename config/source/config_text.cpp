#include "config/source/config_text.h"

#include "config/config_loader.h"
#include "config/source/etcd_client.h"

namespace rt {

Result<ConfigText> ReadConfigText(const ConfigLocation& location, int64_t revision) {
  if (!location.is_etcd()) {
    Result<std::string> text = ReadConfigFile(location.path);
    if (!text.ok()) return text.status();
    return ConfigText{std::move(*text), 0};
  }
  const EtcdClient client(location.endpoints);
  Result<EtcdValue> value = client.Get(location.key, revision);
  if (!value.ok()) return value.status().WithContext(location.text);
  if (!value->exists) {
    return Status::NotFound(location.text + ": no such key" +
                            (revision > 0 ? " at revision " + std::to_string(revision) : ""));
  }
  return ConfigText{std::move(value->value), value->mod_revision};
}

ConfigReport CheckClusterConfigAt(const std::string& location_text, int64_t process_start_ms,
                                  int64_t* revision) {
  Result<ConfigLocation> location = ParseConfigLocation(location_text);
  Result<ConfigText> text =
      location.ok() ? ReadConfigText(*location) : Result<ConfigText>(location.status());
  if (!text.ok()) {
    ConfigReport report;
    report.problems.push_back({ConfigProblem::Severity::kError, "", 0, text.status().message()});
    return report;
  }
  if (revision != nullptr) *revision = text->revision;
  return CheckClusterConfigText(text->text, process_start_ms);
}

}  // namespace rt
