// Content negotiation of /metrics (RFC 9110 12.5.1): the two formats offered are OpenMetrics
// 1.0.0 (application/openmetrics-text; version=1.0.0) and the text format 0.0.4 (text/plain;
// version=0.0.4). Prometheus asks
//   application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,
//   text/plain;version=0.0.4;q=0.5,*/*;q=0.1
// and gets OpenMetrics; everyone else, and any doubt, gets the text format.
#pragma once

#include <string_view>

namespace server {

// True when `accept` (the Accept header's values, joined with commas) weighs OpenMetrics 1.0.0
// above the text format. Each offer takes the q-value of the most specific media range that
// matches it (a range with a version parameter matches only that version); no match is q=0;
// a q-value that is not a number from 0 to 1 makes its range refuse. A tie goes to the text
// format.
bool PrefersOpenMetrics(std::string_view accept);

}  // namespace server
