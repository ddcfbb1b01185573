#include "app/web_config_watch.h"

#include <cstring>
#include <utility>

#include "config/read_file.h"
#include "log/log.h"
#include "state/clock.h"

namespace app {
namespace {

// Larger files are not key material: their size stands for them.
constexpr size_t kMaxWatchedBytes = 1 << 20;
constexpr auto kCheckEvery = std::chrono::seconds(1);

void AppendFile(const std::string& path, std::string* out) {
  std::string bytes;
  int err = 0;
  config::ReadResult result = config::ReadFile(path, kMaxWatchedBytes, &bytes, &err);
  if (result == config::ReadResult::kError)
    bytes = std::string("unreadable: ") + std::strerror(err);
  if (result == config::ReadResult::kTooLarge) bytes = "too large";
  if (result == config::ReadResult::kNotRegular) bytes = "not a regular file";
  // Length-prefixed, so that two lists of files never read the same.
  *out += std::to_string(path.size()) + ":" + path + std::to_string(bytes.size()) + ":" + bytes;
}

}  // namespace

server::Authorizer ServerSecurity::Authorizer() const {
  if (!auth) return {};
  return server::Authorizer{
      .recall = [auth =
                     auth](std::string_view authorization) { return auth->Recall(authorization); },
      .check = [auth = auth](std::string_view authorization) { return auth->Check(authorization); },
  };
}

ServerSecurity SecurityFor(const webconfig::WebConfig& web_config,
                           std::shared_ptr<webconfig::BasicAuth> reuse) {
  ServerSecurity security;
  if (web_config.tls) {
    const webconfig::TlsConfig& tls = *web_config.tls;
    security.tls = server::TlsOptions{.cert_file = tls.cert_file,
                                      .key_file = tls.key_file,
                                      .client_auth_type = tls.client_auth_type,
                                      .client_ca_file = tls.client_ca_file,
                                      .min_version = tls.min_version,
                                      .max_version = tls.max_version};
  }
  if (!web_config.users.empty()) {
    security.auth = reuse && reuse->users() == web_config.users
                        ? std::move(reuse)
                        : std::make_shared<webconfig::BasicAuth>(web_config.users);
  }
  return security;
}

std::string WebConfigFingerprint(const std::string& path, const webconfig::WebConfig& web_config) {
  std::string fingerprint;
  AppendFile(path, &fingerprint);
  for (const auto& file : webconfig::NamedFiles(web_config)) AppendFile(file, &fingerprint);
  return fingerprint;
}

WebConfigWatcher::WebConfigWatcher(std::string path, webconfig::WebConfig applied,
                                   std::string fingerprint, ServerSecurity security,
                                   server::HttpServer& server, state::Store& store)
    : path_(std::move(path)),
      server_(server),
      store_(store),
      applied_(std::move(applied)),
      security_(std::move(security)),
      seen_(std::move(fingerprint)) {}

WebConfigWatcher::~WebConfigWatcher() { Stop(); }

void WebConfigWatcher::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kCheckEvery, [this] { return stopping_; })) {
      lock.unlock();
      CheckNow();
      lock.lock();
    }
  });
}

void WebConfigWatcher::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

WebConfigWatcher::Check WebConfigWatcher::CheckNow() {
  // The files the running web config names: a renewed certificate changes them, not the config.
  std::string now_seen = WebConfigFingerprint(path_, applied_);
  if (now_seen == seen_ && !refused_) return Check::kUnchanged;
  seen_ = std::move(now_seen);
  std::string error;
  std::optional<webconfig::WebConfig> next = webconfig::LoadWebConfig(path_, &error);
  ServerSecurity security;
  if (next) {
    security = SecurityFor(*next, security_.auth);
    if (!server_.Reconfigure(security.tls, security.Authorizer(), &error)) {
      error = path_ + ": " + error;
      next.reset();
    }
  }
  if (!next) {
    if (refused_ == error) return Check::kUnchanged;
    refused_ = error;
    logging::Error("The web config cannot be used; the last good one stays in force",
                   {{"error", error}});
    store_.RecordWebConfigReload(false, state::UnixNow());
    store_.PublishIfChanged();
    return Check::kRefused;
  }
  refused_.reset();
  // A config that names other files is seen by them from now on.
  seen_ = WebConfigFingerprint(path_, *next);
  const double now = state::UnixNow();
  applied_ = std::move(*next);
  security_ = std::move(security);
  store_.RecordWebConfigReload(true, now);
  store_.PublishIfChanged();
  logging::Info("Reloaded the web config",
                {{"path", path_},
                 {"tls", applied_.tls ? "true" : "false"},
                 {"basic_auth", applied_.users.empty() ? "false" : "true"}});
  return Check::kApplied;
}

}  // namespace app
