#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/model/action.h"
#include "server/model/user_key.h"

namespace rt {

// One event of the API node → worker batch body.
struct BatchEvent {
  int64_t slice = 0;
  UserKey key;
  Action action = Action::kClick;

  friend bool operator==(const BatchEvent&, const BatchEvent&) = default;
};

// Appends "S K c\n" or "S K i\n" (S decimal slice, K 32 lowercase hex chars).
void AppendBatchLine(std::string& out, const BatchEvent& event);

// Decodes a batch body: one event per line, each line ended by '\n' (the last
// one may lack it). An empty body decodes to no events. Any malformed line makes
// the whole body an error naming its 1-based line number and quoting the bad
// part, e.g. `line 7: bad user key "zz"`; `out` is then unspecified.
[[nodiscard]] Status DecodeBatchInto(std::string_view body, std::vector<BatchEvent>& out);
[[nodiscard]] Result<std::vector<BatchEvent>> DecodeBatch(std::string_view body);

}  // namespace rt
