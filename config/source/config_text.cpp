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

}  // namespace rt
