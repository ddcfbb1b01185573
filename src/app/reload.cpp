// Reloading the configuration (SIGHUP, POST /-/reload) while the exporter runs.
#include <algorithm>
#include <chrono>
#include <set>
#include <system_error>

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
  if (loaded) error = ShardingError(ctx.flags, *loaded);
  // The new poller is made before the running one stops: if its threads cannot start, the
  // running configuration stays.
  std::unique_ptr<poller::Poller> next_poller;
  if (error.empty()) {
    if (loaded->state_path != ctx.config.state_path) {
      logging::Warn("state.path changes take effect at the next start",
                    {{"running", ctx.config.state_path}, {"configured", loaded->state_path}});
      loaded->state_path = ctx.config.state_path;
    }
    try {
      next_poller = MakePoller(ctx, *loaded);
    } catch (const std::system_error& e) {
      error = std::string("cannot start the polling threads: ") + e.what();
    }
  }
  if (!error.empty()) {
    logging::Error("Reload failed; the running configuration stays", {{"error", error}});
    ctx.store->RecordReload(false, UnixNow());
    ctx.store->PublishIfChanged();
    return error;
  }
  config::Config next = std::move(*loaded);

  // The running poller finishes (its requests in flight are cancelled); its successor starts
  // from the same store, so nothing counted is lost.
  const auto before =
      ctx.poller ? ctx.poller->StaticIds() : std::map<std::string, std::vector<std::string>>();
  if (ctx.poller) ctx.poller->Stop();

  // Ids that left the config or an ids file are no longer polled, and leave the output (before
  // a kind switched off is hidden, so that its removed ids are gone should it come back).
  const auto after = next_poller->StaticIds();
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

  ctx.poller = std::move(next_poller);
  std::set<std::string> with_ids_file;
  for (const auto& [kind, section] : ctx.config.kinds) {
    if (ctx.config.KindEnabled(kind) && !section.ids_file.empty()) with_ids_file.insert(kind);
  }
  ctx.store->KeepIdsFiles(with_ids_file);
  try {
    ctx.poller->Start();
  } catch (const std::system_error& e) {
    logging::Error("Cannot start polling after the reload; serving the last known data",
                   {{"error", e.what()}});
  }

  ctx.store->RecordReload(true, now);
  ctx.store->PublishIfChanged();
  logging::Info("Reloaded the configuration",
                {{"path", ctx.config.path},
                 {"kinds", std::to_string(ctx.config.EnabledKinds().size())},
                 {"ids_removed", std::to_string(removed_total)}});
  return "";
}

}  // namespace app
