// Reloading the configuration (SIGHUP, POST /-/reload) while the exporter runs.
#include <algorithm>
#include <chrono>

#include "app/context.h"
#include "log/log.h"

namespace app {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string Reload(Context& ctx) {
  std::lock_guard<std::mutex> lock(ctx.reload_mutex);
  std::string error;
  auto loaded = config::LoadConfig(ctx.flags.config_file, &error);
  if (!loaded) {
    logging::Error("Reload failed; the running configuration stays", {{"error", error}});
    ctx.store->RecordReload(false, UnixNow());
    ctx.store->PublishIfChanged();
    return error;
  }
  config::Config next = std::move(*loaded);
  if (next.state_path != ctx.config.state_path) {
    logging::Warn("state.path changes take effect at the next start",
                  {{"running", ctx.config.state_path}, {"configured", next.state_path}});
    next.state_path = ctx.config.state_path;
  }

  // The running poller finishes (its requests in flight are cancelled); its successor starts
  // from the same store, so nothing counted is lost.
  const auto before =
      ctx.poller ? ctx.poller->StaticIds() : std::map<std::string, std::vector<std::string>>();
  if (ctx.poller) ctx.poller->Stop();

  collect::RenderOptions render = ctx.publisher->options();
  const bool rerender = render.per_job_metrics != next.per_job_metrics;
  render.per_job_metrics = next.per_job_metrics;
  ctx.publisher->SetOptions(render);
  ctx.store->Reconfigure(next.EnabledKinds(),
                         std::chrono::duration<double>(next.terminal_retention).count(),
                         std::chrono::duration<double>(next.forget_after).count(),
                         static_cast<size_t>(next.max_tracked_jobs), JobRenderer(render), rerender);
  ctx.config = std::move(next);
  ctx.webhook->Configure(WebhookSettings(ctx.config));

  CreatePoller(ctx);
  // Ids that left the config or an ids file are no longer polled, and leave the output.
  const auto after = ctx.poller->StaticIds();
  const double now = UnixNow();
  size_t removed_total = 0;
  for (const auto& [kind, ids] : before) {
    auto still = after.find(kind);
    std::vector<std::string> removed;
    for (const auto& id : ids) {
      if (still == after.end() ||
          std::find(still->second.begin(), still->second.end(), id) == still->second.end()) {
        removed.push_back(id);
      }
    }
    removed_total += removed.size();
    if (!removed.empty()) ctx.store->RemoveJobs(kind, removed, now);
  }
  ctx.poller->Start();

  ctx.store->RecordReload(true, now);
  ctx.store->PublishIfChanged();
  logging::Info("Reloaded the configuration",
                {{"path", ctx.config.path},
                 {"kinds", std::to_string(ctx.config.EnabledKinds().size())},
                 {"ids_removed", std::to_string(removed_total)}});
  return "";
}

}  // namespace app
