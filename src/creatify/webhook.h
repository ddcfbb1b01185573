// The body Creatify POSTs to a job's webhook_url when the job finishes:
//   {"id": "...", "status": "...", "failed_reason": "...", "video_output": "..."}
// Only the id is taken: the body is a hint to read the job now, never the truth. Pure and
// thread-safe; never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace creatify {

// The longest job id accepted from a webhook.
inline constexpr size_t kMaxWebhookIdLength = 128;

// The job id of a webhook body: a JSON object whose "id" is a string of letters, digits, '-' and
// '_' (at most kMaxWebhookIdLength). nullopt, with *error set to a short reason, otherwise.
std::optional<std::string> ParseWebhookBody(std::string_view body, std::string* error);

}  // namespace creatify
