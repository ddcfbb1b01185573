#include "webhook/forwarder.h"

#include <httplib.h>

#include <algorithm>

#include "log/log.h"

namespace webhook {
namespace {

// "scheme://host:port" and the path prefix of a URL (httplib takes them apart).
void SplitUrl(const std::string& url, std::string* origin, std::string* prefix) {
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  *origin = url.substr(0, path_start);
  *prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
}

}  // namespace

Forwarder::Forwarder(std::string url_template, std::string user_agent, OnGiveUp on_give_up)
    : url_template_(std::move(url_template)),
      user_agent_(std::move(user_agent)),
      on_give_up_(std::move(on_give_up)) {
  thread_ = std::thread([this] { Loop(); });
}

Forwarder::~Forwarder() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string Forwarder::PeerUrl(int shard) const {
  std::string url = url_template_;
  const std::string number = std::to_string(shard);
  for (size_t at = url.find("{shard}"); at != std::string::npos; at = url.find("{shard}", at)) {
    url.replace(at, 7, number);
    at += number.size();
  }
  return url;
}

bool Forwarder::Forward(int shard, const std::string& kind, const std::string& token,
                        std::string body) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= kMaxForwardQueue) return false;
    queue_.push_back({.shard = shard,
                      .kind = kind,
                      .path = "/webhook/" + kind + "/" + token + "/forwarded",
                      .body = std::move(body),
                      .first_try = now,
                      .next_try = now});
  }
  wake_.notify_all();
  return true;
}

bool Forwarder::Send(const Call& call, std::string* error) const {
  std::string origin;
  std::string prefix;
  SplitUrl(PeerUrl(call.shard), &origin, &prefix);
  httplib::Client client(origin);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  client.set_write_timeout(std::chrono::seconds(5));
  auto result =
      client.Post(prefix + call.path, {{"User-Agent", user_agent_}}, call.body, "application/json");
  if (!result) {
    *error = httplib::to_string(result.error());
    return false;
  }
  if (result->status >= 200 && result->status < 300) return true;
  *error = "HTTP " + std::to_string(result->status);
  // The owner refused the call itself (a wrong token, a kind it does not have): no retry helps.
  return result->status >= 400 && result->status < 500 && result->status != 429;
}

void Forwarder::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (stopping_) return;
    if (queue_.empty()) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      continue;
    }
    // The call due first.
    auto due = std::min_element(queue_.begin(), queue_.end(), [](const Call& a, const Call& b) {
      return a.next_try < b.next_try;
    });
    if (due->next_try > std::chrono::steady_clock::now()) {
      wake_.wait_until(lock, due->next_try);
      continue;
    }
    Call call = std::move(*due);
    queue_.erase(due);
    lock.unlock();
    std::string error;
    const bool settled = Send(call, &error);
    const auto now = std::chrono::steady_clock::now();
    lock.lock();
    if (settled && error.empty()) continue;
    if (!settled && now - call.first_try < kForwardPatience) {
      // 1 s, 2 s, 4 s, ... at most a minute apart.
      call.next_try = now + std::chrono::seconds(std::min(1L << std::min(call.attempts, 6), 60L));
      ++call.attempts;
      if (call.attempts == 1) {
        logging::Warn(
            "Cannot hand a webhook call to the replica that owns its job; retrying",
            {{"kind", call.kind}, {"shard", std::to_string(call.shard)}, {"error", error}});
      }
      queue_.push_back(std::move(call));
      continue;
    }
    lock.unlock();
    logging::Error("Gave up handing a webhook call to the replica that owns its job",
                   {{"kind", call.kind}, {"shard", std::to_string(call.shard)}, {"error", error}});
    if (on_give_up_) on_give_up_(call.kind);
    lock.lock();
  }
}

}  // namespace webhook
