// The start-up steps of app::Run.
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "app/context.h"
#include "creatify/kind.h"
#include "log/log.h"
#include "server/routes.h"
#include "version.h"

namespace app {

bool BlockStopSignals(Context& ctx) {
  // Every thread started after this inherits the mask, so only sigwait sees the stop signals.
  sigemptyset(&ctx.stop_signals);
  sigaddset(&ctx.stop_signals, SIGINT);
  sigaddset(&ctx.stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &ctx.stop_signals, nullptr);
  // A scraper that hangs up mid-response must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
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

namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// TODO(config): state.path. Until the config key exists, the environment variable turns
// persistence on; unset means none (counters start at zero).
std::string StatePath(const Context& /*ctx*/) {
  const char* path = std::getenv("CREATIFY_EXPORTER_STATE_PATH");
  return path != nullptr ? path : "";
}

bool OpenState(Context& ctx) {
  ctx.started_at = UnixNow();
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
  std::vector<std::string> active;
  for (const auto& kind : creatify::Kinds()) {
    if (ctx.config.kinds.at(std::string(kind.name)).enabled) active.emplace_back(kind.name);
  }
  if (ctx.started_at == 0) ctx.started_at = UnixNow();
  ctx.publisher = std::make_unique<collect::Publisher>(
      collect::RenderOptions{.per_job_metrics = ctx.config.per_job_metrics,
                             .version = creatify_exporter::kVersion,
                             .revision = creatify_exporter::kRevision});
  state::StoreOptions options{
      .kinds = std::move(active),
      .watching_since = ctx.started_at,
      .render_job =
          [options = ctx.publisher->options()](std::string_view kind, state::JobRecord* record) {
            collect::RenderJobLines(options, kind, record);
          },
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
  ctx.publisher->Publish(ctx.store->Current());
  return true;
}

bool StartStateWriter(Context& ctx) {
  if (!ctx.state_file) return true;
  // Each new snapshot is written in the background, then rendered: /metrics never shows a count
  // that a crash before the write would take back, and neither the poller nor a scrape waits
  // for the disk (a scrape serves the last rendering).
  ctx.state_writer = std::make_unique<persist::Writer>(
      *ctx.state_file, *ctx.store, UnixNow,
      [publisher = ctx.publisher.get()](const std::shared_ptr<const state::Snapshot>& snapshot) {
        publisher->Publish(snapshot);
      });
  ctx.store->OnPublish([writer = ctx.state_writer.get()](const auto&) { writer->Notify(); });
  return true;
}

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
  std::string error;
  if (!ctx.server->Bind(address->host, address->port, &error)) {
    std::fprintf(stderr, "creatify-exporter: %s\n", error.c_str());
    return false;
  }
  std::string host = address->host.empty() ? "0.0.0.0" : address->host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  logging::Info("Listening", {{"address", host + ":" + std::to_string(ctx.server->port())},
                              {"telemetry_path", ctx.flags.telemetry_path}});
  return true;
}

bool StartPoller(Context& ctx) {
  std::string user_agent = std::string("creatify-exporter/") + creatify_exporter::kVersion;
  auto http = poller::MakeHttpFetch(ctx.config, user_agent);
  ctx.poller = std::make_unique<poller::Poller>(ctx.config, *ctx.store, std::move(http.fetch),
                                                std::move(http.cancel));
  ctx.poller->Start();
  int kinds = 0;
  for (const auto& kind : creatify::Kinds()) kinds += ctx.config.KindActive(kind.name) ? 1 : 0;
  logging::Info("Polling the Creatify API",
                {{"base_url", ctx.config.base_url},
                 {"poll_interval_ms", std::to_string(ctx.config.poll_interval.count())},
                 {"kinds", std::to_string(kinds)}});
  return true;
}

bool StartServing(Context& ctx) {
  ctx.server_thread = std::thread([server = ctx.server.get()] { server->Serve(); });
  return true;
}

void WaitForStopSignal(Context& ctx) {
  int signal = 0;
  sigwait(&ctx.stop_signals, &signal);
  logging::Info("Stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
}

}  // namespace app
