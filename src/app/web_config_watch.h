// The web config (--web.config.file) read again while the exporter runs, as exporter-toolkit does
// for every new connection: once a second, the file and the files it names (certificate, key,
// client CA) are read, and when any of their bytes changed the web config is loaded again and
// applied to the server. A renewed certificate then serves the connections accepted from then on,
// and a changed user list applies to the next request. A web config that cannot be used (invalid,
// a file missing, a key that does not match its certificate) changes nothing: the last good one
// stays in force, the reason is logged once (again only when it changes), and
// creatify_exporter_web_config_last_reload_successful says 0 until a good one is read. While it
// cannot be used, it is loaded again every second whatever changed: the files it names may be the
// ones that appear or change.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "server/http_server.h"
#include "state/store.h"
#include "webconfig/basic_auth.h"
#include "webconfig/web_config.h"

namespace app {

// What the server needs of a web config: its TLS options (nullopt: plain HTTP) and the authorizer
// of its users (empty without users). `reuse` is kept when it checks the same users, so that the
// passwords it remembers stay remembered.
struct ServerSecurity {
  std::optional<server::TlsOptions> tls;
  std::shared_ptr<webconfig::BasicAuth> auth;
  server::Authorizer Authorizer() const;
};
ServerSecurity SecurityFor(const webconfig::WebConfig& web_config,
                           std::shared_ptr<webconfig::BasicAuth> reuse = nullptr);

// The bytes of the web config file and of the files `web_config` names: when they change, the web
// config is to be loaded again. Unreadable files are part of it (as their error).
std::string WebConfigFingerprint(const std::string& path, const webconfig::WebConfig& web_config);

class WebConfigWatcher {
 public:
  // `applied`: the web config in force, loaded from `fingerprint`'s bytes (taken before it was
  // loaded, so that a change made meanwhile is seen), with `security` set on `server`.
  WebConfigWatcher(std::string path, webconfig::WebConfig applied, std::string fingerprint,
                   ServerSecurity security, server::HttpServer& server, state::Store& store);
  ~WebConfigWatcher();
  WebConfigWatcher(const WebConfigWatcher&) = delete;
  WebConfigWatcher& operator=(const WebConfigWatcher&) = delete;

  // Checks once a second on a thread of its own until Stop (throws std::system_error when the
  // thread cannot start).
  void Start();
  void Stop();

  enum class Check {
    kUnchanged,  // nothing changed since the last check (nothing applied, nothing logged)
    kApplied,    // a changed web config is in force
    kRefused,    // a changed web config cannot be used: logged, and the last good one stays
  };
  // One check, now.
  Check CheckNow();

 private:
  const std::string path_;
  server::HttpServer& server_;
  state::Store& store_;
  // The thread's own (CheckNow runs there, or in tests without the thread).
  webconfig::WebConfig applied_;
  ServerSecurity security_;
  // Why the web config on disk cannot be used, while it cannot (logged once).
  std::optional<std::string> refused_;
  // The bytes last looked at, good or not: a web config that failed is not tried (nor logged)
  // again until its files change.
  std::string seen_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace app
