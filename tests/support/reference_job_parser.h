// The job parser as it was when it read bodies with nlohmann_json (a DOM per job), kept as the
// reference that src/creatify/parse.cpp, which reads with creatify::JsonReader, must agree with:
// the job_parser fuzz target and tests/creatify/json_reader_test.cpp compare the two on every
// input. Only `ok`, the jobs, invalid_items and invalid_fields are compared; error texts may
// differ. Thread-safe.
#pragma once

#include <string_view>

#include "creatify/kind.h"
#include "creatify/parse.h"

namespace creatify::reference {

ParseResult ParseJobObject(const KindSpec& kind, std::string_view body,
                           std::string_view requested_id);
ParseResult ParseJobList(const KindSpec& kind, std::string_view body);

// Whether nlohmann_json accepts `body` as one JSON document.
bool Accepts(std::string_view body);

}  // namespace creatify::reference
