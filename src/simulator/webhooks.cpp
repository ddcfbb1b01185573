#include "simulator/webhooks.h"

#include <httplib.h>

#include <deque>
#include <map>
#include <nlohmann/json.hpp>

#include "log/log.h"
#include "simulator/flags.h"

namespace simulator {
namespace {

Time Now() { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); }

struct Call {
  Time due;
  std::string kind;
  std::string id;
  Phase phase = Phase::kDone;
};

std::string Body(const Call& call) {
  nlohmann::json body = {{"id", call.id}, {"status", std::string(PhaseName(call.phase))}};
  body["failed_reason"] = call.phase == Phase::kDone ? nlohmann::json() : "simulated failure";
  body["video_output"] = call.phase == Phase::kDone
                             ? nlohmann::json("https://example.com/videos/" + call.id + ".mp4")
                             : nlohmann::json();
  return body.dump();
}

}  // namespace

WebhookCaller::WebhookCaller(Model& model, WebhookOptions options, Millis check_every)
    : model_(model), options_(std::move(options)), check_every_(check_every) {
  thread_ = std::thread([this] { Loop(); });
}

bool WebhookCaller::SetUrl(const std::string& url) {
  std::string origin;
  std::string path;
  if (!SplitHttpUrl(url, &origin, &path)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  options_.url = url;
  return true;
}

WebhookCaller::~WebhookCaller() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookCaller::Loop() {
  std::set<std::pair<std::size_t, std::string>> announced;
  std::deque<Call> queue;
  std::map<std::string, std::unique_ptr<httplib::Client>> clients;
  for (;;) {
    std::string url_template;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_for(lock, check_every_, [this] { return stopping_; })) return;
      url_template = options_.url;
    }
    if (url_template.empty()) continue;
    const Time now = Now();
    for (auto& job : model_.FinishedJobs(now)) {
      const std::string kind(Kinds()[job.kind].name);
      if (!options_.kinds.empty() && !options_.kinds.contains(kind)) continue;
      if (!announced.insert({job.kind, job.id}).second) continue;
      for (int i = 0; i < options_.calls; ++i) {
        queue.push_back({now + options_.delay, kind, job.id, job.phase});
      }
    }
    while (!queue.empty() && queue.front().due <= Now()) {
      Call call = std::move(queue.front());
      queue.pop_front();
      std::string url = url_template;
      if (size_t at = url.find("{kind}"); at != std::string::npos) url.replace(at, 6, call.kind);
      std::string origin;
      std::string path;
      if (!SplitHttpUrl(url, &origin, &path)) continue;
      auto& client = clients[origin];
      if (!client) {
        client = std::make_unique<httplib::Client>(origin);
        client->set_connection_timeout(std::chrono::seconds(2));
        client->set_read_timeout(std::chrono::seconds(5));
      }
      auto result = client->Post(path, Body(call), "application/json");
      if (!result) {
        logging::Warn(
            "Webhook call failed",
            {{"kind", call.kind}, {"id", call.id}, {"error", httplib::to_string(result.error())}});
      } else {
        logging::Debug(
            "Webhook called",
            {{"kind", call.kind}, {"id", call.id}, {"status", std::to_string(result->status)}});
      }
    }
  }
}

}  // namespace simulator
