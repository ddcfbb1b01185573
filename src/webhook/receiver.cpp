#include "webhook/receiver.h"

#include <nlohmann/json.hpp>

#include "creatify/kind.h"
#include "creatify/webhook.h"
#include "log/log.h"

namespace webhook {
namespace {

constexpr char kJson[] = "application/json";

server::Response NotFound() { return server::Response{.status = 404, .body = "Not Found\n"}; }

}  // namespace

bool TokenEquals(std::string_view given, std::string_view expected) {
  unsigned char differ = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    differ |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return differ == 0;
}

void Receiver::Configure(Settings settings) {
  if (!settings.token.empty()) {
    for (const auto& kind : settings.kinds) {
      for (std::string_view result :
           {kAccepted, kDropped, kUnauthorized, kUnknownKind, kTooLarge, kBadRequest}) {
        store_.CountWebhook(kind, result, 0);
      }
      if (forwarder_ != nullptr) {
        for (std::string_view result : {kForwarded, kForwardQueueFull, kForwardFailed}) {
          store_.CountWebhook(kind, result, 0);
        }
        for (std::string_view result : {kDelivered, kRefused, kExpired}) {
          store_.CountWebhookForward(kind, result, 0);
        }
      }
    }
    const std::string_view other = settings.workspaces ? kOtherScopedKind : kOtherKind;
    store_.CountWebhook(other, kUnauthorized, 0);
    store_.CountWebhook(other, kUnknownKind, 0);
  }
  // Calls already waiting are sent with the new token: a rotated token never strands them.
  if (forwarder_ != nullptr) forwarder_->SetToken(settings.token);
  std::lock_guard<std::mutex> lock(mutex_);
  settings_ = std::move(settings);
}

server::Response Receiver::Answer(std::string_view kind, std::string_view result, int status,
                                  std::string body) {
  store_.CountWebhook(kind, result);
  // A refused call is shown within a second; an accepted one as soon as its job is read.
  hints_.Nudge();
  return server::Response{.status = status, .content_type = kJson, .body = std::move(body)};
}

bool Receiver::Enabled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !settings_.token.empty();
}

server::Response Receiver::Handle(const server::Request& request) {
  std::string token;
  bool known_kind = false;
  bool workspaces = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    token = settings_.token;
    workspaces = settings_.workspaces;
  }
  if (token.empty()) return NotFound();

  // /webhook/{kind}/{token}, or /webhook/{kind}/{token}/forwarded from another replica; with
  // workspaces, {workspace}/{kind} in place of {kind} (the kind's scoped name).
  std::string_view rest = std::string_view(request.path).substr(sizeof(kPathPrefix) - 1);
  size_t slash = rest.find('/');
  if (workspaces && slash != std::string_view::npos) slash = rest.find('/', slash + 1);
  const std::string_view kind_word = rest.substr(0, slash);
  std::string_view given =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  constexpr std::string_view kForwardedSuffix = "/forwarded";
  const bool forwarded = given.ends_with(kForwardedSuffix);
  if (forwarded) given.remove_suffix(kForwardedSuffix.size());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    known_kind = settings_.kinds.contains(kind_word);
  }
  const std::string_view kind =
      known_kind ? kind_word : (workspaces ? kOtherScopedKind : kOtherKind);
  const std::string_view workspace = creatify::SplitScopedKind(kind).workspace;
  // The token is checked first: without it, nobody learns which kinds exist.
  if (!TokenEquals(given, token)) {
    return Answer(kind, kUnauthorized, 401,
                  R"({"error":"unauthorized"})"
                  "\n");
  }
  if (!known_kind) {
    return Answer(kind, kUnknownKind, 404,
                  R"({"error":"unknown kind"})"
                  "\n");
  }
  if (request.body_too_large) {
    return Answer(kind, kTooLarge, 413,
                  R"({"error":"body too large"})"
                  "\n");
  }
  std::string why;
  auto id = creatify::ParseWebhookBody(request.body, &why);
  if (!id) {
    // Built by the JSON library: `why` may quote the body ("no string "id"").
    return Answer(kind, kBadRequest, 400, nlohmann::json{{"error", why}}.dump() + "\n");
  }
  // Another replica owns the job: it is handed over, unless it comes from another replica (whose
  // shard count may differ during a change of it: taken here rather than passed around).
  if (!forwarded && forwarder_ != nullptr && !shard_.Owns(workspace, *id)) {
    const std::string hashed = creatify::ScopedKind(workspace, *id);
    const int owner = static_cast<int>(state::IdHash(hashed) % static_cast<uint64_t>(shard_.total));
    switch (forwarder_->Forward(owner, std::string(kind), request.body)) {
      case Forwarder::Queued::kQueued:
        return Answer(kind, kForwarded, 202,
                      R"({"status":"forwarded"})"
                      "\n");
      case Forwarder::Queued::kFull:
        // Logged by the forwarder, once while the queue stays full.
        return Answer(kind, kForwardQueueFull, 503,
                      R"({"error":"busy"})"
                      "\n");
      case Forwarder::Queued::kNotStored:
        break;
    }
    // Logged by the forwarder, once per distinct error.
    return Answer(kind, kForwardFailed, 503,
                  R"({"error":"cannot queue the call"})"
                  "\n");
  }
  if (forwarded && !shard_.Owns(workspace, *id)) {
    // Sent by a replica that counts the shards differently (a change of --total-shards under
    // way): this replica would never read the job. Its owner learns of it by its next call, or
    // by a listing.
    logging::Warn("Forwarded webhook for a job of another shard; the shard counts differ",
                  {{"kind", std::string(kind)}, {"job_id", *id}});
    return Answer(kind, kDropped, 202,
                  R"({"status":"dropped"})"
                  "\n");
  }
  const state::AddResult added = store_.AddJob(kind, *id);
  if (added == state::AddResult::kFull) {
    logging::Warn("Webhook for a job that cannot be tracked: max_tracked_jobs is reached",
                  {{"kind", std::string(kind)}, {"job_id", *id}});
    return Answer(kind, kDropped, 202,
                  R"({"status":"dropped"})"
                  "\n");
  }
  if (added == state::AddResult::kNoKind) {
    return Answer(kind, kUnknownKind, 404,
                  R"({"error":"unknown kind"})"
                  "\n");
  }
  // Read it now, unless it is known to be finished already.
  if (!store_.IsFinished(kind, *id)) hints_.Add(std::string(kind), *id);
  return Answer(kind, kAccepted, 202,
                R"({"status":"accepted"})"
                "\n");
}

}  // namespace webhook
