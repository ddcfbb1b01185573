// The simulator's webhook calls: like Creatify, it POSTs {"id", "status", "failed_reason",
// "video_output"} to a job's webhook_url once the job has finished, after a delay, and as many
// times as asked (Creatify may call more than once for one job). Runs in its own thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "simulator/jobs.h"
#include "simulator/model.h"

namespace simulator {

struct WebhookOptions {
  // The URL called for a finished job; "{kind}" is replaced by the job's kind label. Empty: no
  // calls.
  std::string url;
  // The kinds whose jobs carry the webhook_url (labels); empty: every kind.
  std::set<std::string> kinds;
  Millis delay{0};
  // Calls per finished job (more than one: duplicates, as Creatify may send).
  int calls = 1;
};

class WebhookCaller {
 public:
  // Starts calling, checking the model for newly finished jobs every `check_every`.
  WebhookCaller(Model& model, WebhookOptions options, Millis check_every = Millis(50));
  // Replaces the URL (POST /sim/webhook-url): jobs that finished before it was set are called
  // then. False when the URL is not http://.
  bool SetUrl(const std::string& url);
  ~WebhookCaller();
  WebhookCaller(const WebhookCaller&) = delete;
  WebhookCaller& operator=(const WebhookCaller&) = delete;

 private:
  void Loop();

  Model& model_;
  WebhookOptions options_;  // url guarded by mutex_
  const Millis check_every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace simulator
