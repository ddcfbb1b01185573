// The start-up steps of app::Run.
#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <system_error>

#include "app/context.h"
#include "creatify/kind.h"
#include "log/log.h"
#include "server/routes.h"
#include "state/clock.h"
#include "version.h"
#include "webconfig/basic_auth.h"

namespace app {

bool LimitMemoryArenas(Context&) {
  // glibc gives every thread that allocates its own arena and keeps what was freed there: a
  // poll worker that reads a 50 MB listing would keep its peak forever, a different worker each
  // cycle. Two arenas keep resident memory near what is in use.
  mallopt(M_ARENA_MAX, 2);
  // Blocks of a megabyte and more (a response body, the text being compressed) are mapped and
  // unmapped on their own, never left in the heap after use. Setting it also stops glibc from
  // raising the threshold after such a block is freed.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return true;
}

bool BlockStopSignals(Context& ctx) {
  // Every thread started after this inherits the mask, so only sigwait sees the stop signals.
  sigemptyset(&ctx.stop_signals);
  sigaddset(&ctx.stop_signals, SIGINT);
  sigaddset(&ctx.stop_signals, SIGTERM);
  sigaddset(&ctx.stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &ctx.stop_signals, nullptr);
  // A scraper that hangs up mid-response must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // A state file that reaches the file size limit (RLIMIT_FSIZE) must fail its write (EFBIG), as
  // a full disk does, not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  return true;
}

bool LoadConfiguration(Context& ctx) {
  std::string error;
  auto config = config::LoadConfig(ctx.flags.config_file, &error);
  if (!config) {
    std::fprintf(stderr, "creatify-exporter: %s\n", error.c_str());
    return false;
  }
  ctx.config = std::move(*config);
  return true;
}

bool LoadWebConfiguration(Context& ctx) {
  if (ctx.flags.web_config_file.empty()) return true;
  std::string error;
  auto web_config = webconfig::LoadWebConfig(ctx.flags.web_config_file, &error);
  if (!web_config) {
    std::fprintf(stderr, "creatify-exporter: %s\n", error.c_str());
    return false;
  }
  ctx.web_config = std::move(*web_config);
  // The bytes it was loaded from: the watcher loads it again when they change.
  ctx.web_config_fingerprint = WebConfigFingerprint(ctx.flags.web_config_file, ctx.web_config);
  return true;
}

std::string ShardingError(const Flags& flags, const config::Config& config) {
  if (flags.total_shards > 1 && !config.webhook.token.empty() && flags.peer_url.empty()) {
    return "--total-shards=" + std::to_string(flags.total_shards) +
           " with a webhook token needs --shard.peer-url, so that a webhook for a job of "
           "another replica reaches it";
  }
  return "";
}

bool ResolveShard(Context& ctx) {
  const char* hostname = std::getenv("HOSTNAME");
  std::string error;
  auto shard = app::ResolveShard(ctx.flags, hostname ? hostname : "", &error);
  if (!shard) {
    std::fprintf(stderr, "creatify-exporter: %s\n", error.c_str());
    return false;
  }
  ctx.shard = {.index = *shard, .total = ctx.flags.total_shards};
  if (std::string why = ShardingError(ctx.flags, ctx.config); !why.empty()) {
    std::fprintf(stderr, "creatify-exporter: %s\n", why.c_str());
    return false;
  }
  if (ctx.shard.total > 1) {
    logging::Info("Tracking one shard of the jobs",
                  {{"shard", std::to_string(ctx.shard.index)},
                   {"total_shards", std::to_string(ctx.shard.total)}});
  }
  return true;
}

// `state.path`; empty: no persistence (counters start at zero).
std::string StatePath(const Context& ctx) { return ctx.config.state_path; }

bool OpenState(Context& ctx) {
  ctx.started_at = state::UnixNow();
  const std::string path = StatePath(ctx);
  if (path.empty()) return true;
  persist::OpenResult result;
  std::string error;
  ctx.state_file = persist::StateFile::Open(path, ctx.started_at, &result, &error);
  if (!ctx.state_file) {
    std::fprintf(stderr, "creatify-exporter: %s\n", error.c_str());
    return false;
  }
  if (!result.moved_aside.empty()) {
    logging::Warn("The state file could not be restored; moved it aside and starting afresh",
                  {{"path", path}, {"reason", result.moved_aside}, {"moved_to", result.moved_to}});
  }
  if (!result.unavailable.empty()) {
    logging::Warn("The state file cannot be used for now; starting afresh, writes will retry",
                  {{"path", path}, {"error", result.unavailable}});
  }
  if (result.restored) {
    logging::Info("Restored the state",
                  {{"path", path},
                   {"jobs", std::to_string(result.restored->jobs.size())},
                   {"remembered", std::to_string(result.restored->remembered.size())}});
  } else if (result.moved_aside.empty() && result.unavailable.empty()) {
    logging::Info("Created the state file", {{"path", path}});
  }
  ctx.restored = std::move(result.restored);
  return true;
}

bool CreateStore(Context& ctx) {
  // Every enabled kind is rendered (zeros included), even one with no ids to poll yet.
  if (ctx.started_at == 0) ctx.started_at = state::UnixNow();
  ctx.publisher = std::make_unique<collect::Publisher>(
      collect::RenderOptions{.per_job_metrics = ctx.config.per_job_metrics,
                             .version = creatify_exporter::kVersion,
                             .revision = creatify_exporter::kRevision,
                             .shard = ctx.shard.index,
                             .total_shards = ctx.shard.total});
  state::StoreOptions options{
      .kinds = ctx.config.StoreKinds(),
      .watching_since = ctx.started_at,
      .terminal_retention_seconds =
          std::chrono::duration<double>(ctx.config.terminal_retention).count(),
      .forget_after_seconds = std::chrono::duration<double>(ctx.config.forget_after).count(),
      .max_tracked_jobs = static_cast<size_t>(ctx.config.max_tracked_jobs),
      .render_job = JobRenderer(ctx.publisher->options()),
      .workspaces = ctx.config.WorkspaceNames(),
      .record_changes = ctx.state_file != nullptr,
      .breakdown = BreakdownOf(ctx.config),
  };
  ctx.store = std::make_unique<state::Store>(std::move(options));
  if (ctx.state_file) {
    // Before Restore, so that its snapshot already says so.
    ctx.store->SetPersistence(true, ctx.restored.has_value());
    if (ctx.restored) ctx.store->Restore(std::move(*ctx.restored));
    ctx.restored.reset();
  }
  // Every new snapshot is rendered once, on the thread that made it, and served as it is.
  ctx.store->OnPublish(
      [publisher = ctx.publisher.get()](const std::shared_ptr<const state::Snapshot>& snapshot) {
        publisher->Publish(snapshot);
      });
  ctx.store->RecordReload(true, ctx.started_at);
  ctx.store->PublishIfChanged();
  ctx.publisher->Publish(ctx.store->Current());
  ctx.hints = std::make_unique<poller::Hints>();
  CreateForwarder(ctx);
  ctx.webhook =
      std::make_unique<webhook::Receiver>(*ctx.store, *ctx.hints, ctx.shard, ctx.forwarder.get());
  ctx.webhook->Configure(WebhookSettings(ctx.config));
  return true;
}

webhook::Settings WebhookSettings(const config::Config& config) {
  webhook::Settings settings{.token = config.webhook.token,
                             .workspaces = !config.workspaces.empty()};
  for (const auto& kind : config.StoreKinds()) settings.kinds.insert(kind);
  return settings;
}

state::JobRenderer JobRenderer(const collect::RenderOptions& options) {
  return [options](std::string_view kind, state::JobRecord* record) {
    collect::RenderJobLines(options, kind, record);
  };
}

state::BreakdownOptions BreakdownOf(const config::Config& config) {
  return {.fields = config.breakdown.fields,
          .max_values = static_cast<size_t>(config.breakdown.max_values)};
}

bool StartStateWriter(Context& ctx) {
  if (!ctx.state_file) return true;
  // Each new snapshot is written in the background, then rendered: /metrics never shows a count
  // that a crash before the write would take back, and neither the poller nor a scrape waits
  // for the disk (a scrape serves the last rendering).
  ctx.state_writer = std::make_unique<persist::Writer>(
      *ctx.state_file, *ctx.store, state::UnixNow,
      [publisher = ctx.publisher.get()](const std::shared_ptr<const state::Snapshot>& snapshot) {
        publisher->Publish(snapshot);
      });
  ctx.store->OnPublish([writer = ctx.state_writer.get()](const auto&) { writer->Notify(); });
  return true;
}

namespace {

// TLS and basic auth as the web config says, then kept up to date with its files; false and
// *error when the TLS files cannot be used.
bool SecureServer(Context& ctx, std::string* error) {
  if (ctx.flags.web_config_file.empty()) return true;
  ServerSecurity security = SecurityFor(ctx.web_config);
  if (security.tls && !ctx.server->EnableTls(*security.tls, error)) return false;
  // Creatify cannot send a password: the webhook receiver checks its own token instead. The
  // prefix stays public whatever later web configs say.
  ctx.server->SetAuthorizer(security.Authorizer(), {webhook::kPathPrefix});
  ctx.store->RecordWebConfigReload(true, state::UnixNow());
  ctx.web_config_watcher = std::make_unique<WebConfigWatcher>(
      ctx.flags.web_config_file, ctx.web_config, ctx.web_config_fingerprint, std::move(security),
      *ctx.server, *ctx.store);
  return true;
}

}  // namespace

bool BindServer(Context& ctx) {
  auto address = ParseListenAddress(ctx.flags.listen_address);
  if (!address) {
    std::fprintf(stderr, "creatify-exporter: invalid --web.listen-address \"%s\"\n",
                 ctx.flags.listen_address.c_str());
    return false;
  }
  ctx.server = std::make_unique<server::HttpServer>();
  server::AddRoutes(*ctx.server,
                    server::RouteOptions{
                        .telemetry_path = ctx.flags.telemetry_path,
                        .version = creatify_exporter::kVersion,
                        .revision = creatify_exporter::kRevision,
                    },
                    *ctx.store, *ctx.publisher);
  // Without a token the route does not exist: 404 for every method, not 405.
  ctx.server->Post(
      webhook::kPathPrefix, kMaxWebhookBodyBytes,
      [receiver = ctx.webhook.get()](const server::Request& request) {
        return receiver->Handle(request);
      },
      [receiver = ctx.webhook.get()] { return receiver->Enabled(); });
  ctx.server->Post("/-/reload", kMaxReloadBodyBytes, [&ctx](const server::Request& request) {
    // Requests that arrived together share one reload, though they wait for a POST handler in
    // turn.
    std::string error = Reload(ctx, request.received);
    if (error.empty()) return server::Response{.status = 200, .body = "Reloaded\n"};
    return server::Response{.status = 500, .body = "Reload failed: " + error + "\n"};
  });
  std::string error;
  if (!SecureServer(ctx, &error)) {
    std::fprintf(stderr, "creatify-exporter: %s: %s\n", ctx.flags.web_config_file.c_str(),
                 error.c_str());
    return false;
  }
  if (!ctx.server->Bind(address->host, address->port, &error)) {
    std::fprintf(stderr, "creatify-exporter: %s\n", error.c_str());
    return false;
  }
  std::string host = address->host.empty() ? "0.0.0.0" : address->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  logging::Info("Listening", {{"address", host + ":" + std::to_string(ctx.server->port())},
                              {"telemetry_path", ctx.flags.telemetry_path},
                              {"tls", ctx.web_config.tls ? "true" : "false"},
                              {"basic_auth", ctx.web_config.users.empty() ? "false" : "true"}});
  return true;
}

bool BindHealthSocket(Context& ctx) {
  const std::string path = HealthSocketPath(ctx.flags, std::getenv(kHealthSocketEnv));
  if (path.empty()) return true;
  std::string error;
  if (!ctx.server->BindLocal(path, {"/-/healthy", "/-/ready"}, &error)) {
    std::fprintf(stderr, "creatify-exporter: health socket (--web.health-socket or %s): %s\n",
                 kHealthSocketEnv, error.c_str());
    return false;
  }
  logging::Info("Serving the health endpoints on a Unix socket", {{"path", path}});
  return true;
}

Pollers MakePollers(Context& ctx, const config::Config& config) {
  std::string user_agent = std::string("creatify-exporter/") + creatify_exporter::kVersion;
  Pollers pollers;
  for (const config::Config* polled : config.Polled()) {
    auto http = poller::MakeHttpFetch(*polled, user_agent);
    std::unique_ptr<poller::Schedule>& schedule = ctx.schedules[polled->workspace];
    if (!schedule) schedule = std::make_unique<poller::Schedule>();
    pollers.push_back(std::make_unique<poller::Poller>(*polled, *ctx.store, std::move(http.fetch),
                                                       std::move(http.cancel), ctx.shard,
                                                       ctx.hints.get(), schedule.get()));
  }
  return pollers;
}

void CreatePollers(Context& ctx) { ctx.pollers = MakePollers(ctx, ctx.config); }

void StartPollers(Pollers& pollers) {
  for (auto& poller : pollers) poller->Start();
}

void StopPollers(Pollers& pollers) {
  for (auto& poller : pollers) poller->Stop();
}

std::map<std::string, std::vector<std::string>> StaticIds(const Pollers& pollers) {
  std::map<std::string, std::vector<std::string>> ids;
  for (const auto& poller : pollers) ids.merge(poller->StaticIds());
  return ids;
}

std::chrono::milliseconds LongestTimeout(const config::Config& config) {
  std::chrono::milliseconds longest{0};
  for (const config::Config* polled : config.Polled()) longest = std::max(longest, polled->timeout);
  return longest;
}

bool StartPoller(Context& ctx) {
  // The poller's threads (its loop, its pool of workers, its hint reader) start here, never in a
  // cycle, so that a thread that cannot be started is a start-up error with one clear line.
  try {
    CreatePollers(ctx);
    StartPollers(ctx.pollers);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "creatify-exporter: cannot start the polling threads: %s\n", e.what());
    return false;
  }
  for (const config::Config* polled : ctx.config.Polled()) {
    int kinds = 0;
    for (const auto& kind : polled->kind_table) kinds += polled->KindActive(kind.name) ? 1 : 0;
    const std::string interval = std::to_string(polled->poll_interval.count());
    if (polled->workspace.empty()) {
      logging::Info("Polling the Creatify API", {{"base_url", polled->base_url},
                                                 {"poll_interval_ms", interval},
                                                 {"kinds", std::to_string(kinds)}});
    } else {
      logging::Info("Polling the Creatify API", {{"workspace", polled->workspace},
                                                 {"base_url", polled->base_url},
                                                 {"poll_interval_ms", interval},
                                                 {"kinds", std::to_string(kinds)}});
    }
  }
  return true;
}

bool StartServing(Context& ctx) {
  // Read before the server runs: a POST /-/reload may replace ctx.config from then on.
  ctx.ready_within = LongestTimeout(ctx.config);
  ctx.server_thread = std::thread([server = ctx.server.get()] { server->Serve(); });
  if (ctx.web_config_watcher) {
    try {
      ctx.web_config_watcher->Start();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "creatify-exporter: cannot start the web config watcher: %s\n",
                   e.what());
      return false;
    }
  }
  return true;
}

void WaitForStopSignal(Context& ctx) {
  // Ready within api.timeout of the start even when the API hangs: by then the first request
  // has been given all the time it may take, and an outage shows as creatify_up 0.
  const auto ready_by = std::chrono::steady_clock::now() + ctx.ready_within;
  bool marked_ready = false;
  for (;;) {
    int signal = 0;
    if (marked_ready) {
      sigwait(&ctx.stop_signals, &signal);
    } else {
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
          ready_by - std::chrono::steady_clock::now());
      const timespec wait{
          .tv_sec = static_cast<time_t>(std::max<long long>(0, left.count()) / 1'000'000'000),
          .tv_nsec = static_cast<long>(std::max<long long>(0, left.count()) % 1'000'000'000)};
      signal = sigtimedwait(&ctx.stop_signals, nullptr, &wait);
      if (signal < 0) {
        if (errno == EAGAIN) {
          if (ctx.store) ctx.store->MarkPollAttempted();
          marked_ready = true;
        }
        continue;
      }
    }
    if (signal == SIGHUP) {
      Reload(ctx);
      continue;
    }
    logging::Info("Stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    return;
  }
}

}  // namespace app
