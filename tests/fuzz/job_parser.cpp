// libFuzzer target: the job JSON parser (src/creatify/parse) on any bytes, read as every kind's
// single-job answer and list, as the credits answer, and as a timestamp. It must never crash, hang
// or touch memory it does not own, and it must agree with the reference (the same rules read
// through nlohmann_json, tests/support/reference_job_parser): the same documents accepted, the
// same jobs, skipped items and invalid fields. A disagreement aborts, with both results.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "creatify/json_reader.h"
#include "creatify/kind.h"
#include "creatify/parse.h"
#include "support/reference_job_parser.h"

namespace {

bool Same(const creatify::ParseResult& a, const creatify::ParseResult& b) {
  if (a.ok != b.ok) return false;
  return !a.ok || (a.jobs == b.jobs && a.invalid_items == b.invalid_items &&
                   a.invalid_fields == b.invalid_fields);
}

void Disagree(const char* what, std::string_view kind, const creatify::ParseResult& got,
              const creatify::ParseResult& want) {
  std::fprintf(stderr,
               "%s of kind %.*s disagrees with the reference: ok %d/%d, jobs %zu/%zu, "
               "invalid items %d/%d, invalid fields %zu/%zu, error \"%s\"\n",
               what, static_cast<int>(kind.size()), kind.data(), got.ok, want.ok, got.jobs.size(),
               want.jobs.size(), got.invalid_items, want.invalid_items, got.invalid_fields.size(),
               want.invalid_fields.size(), got.error.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto& kind : creatify::BuiltinKinds()) {
    constexpr std::string_view kId = "3f2a9c1e-0b7d-4c55-9a62-1d8e5f4b7a10";
    const auto object = creatify::ParseJobObject(kind, body, kId);
    const auto object_reference = creatify::reference::ParseJobObject(kind, body, kId);
    if (!Same(object, object_reference))
      Disagree("job object", kind.name, object, object_reference);
    if (kind.list) {
      const auto list = creatify::ParseJobList(kind, body);
      const auto list_reference = creatify::reference::ParseJobList(kind, body);
      if (!Same(list, list_reference)) Disagree("job list", kind.name, list, list_reference);
    }
  }
  if (!creatify::NestedDeeperThan(body, creatify::kMaxNestingDepth)) {
    creatify::JsonReader reader(body, creatify::kMaxNestingDepth);
    creatify::JsonValue value;
    const bool accepted = reader.Read(&value) && reader.AtEnd();
    if (accepted && value.type == creatify::JsonType::kString) creatify::JsonString(value);
    if (accepted != creatify::reference::Accepts(body)) {
      std::fprintf(stderr, "JsonReader %s a document nlohmann_json %s\n",
                   accepted ? "accepts" : "refuses", accepted ? "refuses" : "accepts");
      std::abort();
    }
  }
  std::string error;
  creatify::ParseRemainingCredits(body, &error);
  creatify::ParseTimestamp(body);
  return 0;
}
