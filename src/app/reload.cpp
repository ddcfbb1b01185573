// Reloading the configuration (SIGHUP, POST /-/reload) while the exporter runs.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <system_error>

#include "app/context.h"
#include "creatify/kind.h"
#include "log/log.h"
#include "state/clock.h"

namespace app {
namespace {

// Reads the config file and makes its poller (not started), before anything running changes: if
// either fails, the running configuration stays. "" on success.
std::string Prepare(Context& ctx, std::optional<config::Config>* next, Pollers* next_pollers) {
  std::string error;
  *next = config::LoadConfig(ctx.flags.config_file, &error);
  if (!*next) return error;
  if (error = ShardingError(ctx.flags, **next); !error.empty()) return error;
  if ((*next)->state_path != ctx.config.state_path) {
    logging::Warn("state.path changes take effect at the next start",
                  {{"running", ctx.config.state_path}, {"configured", (*next)->state_path}});
    (*next)->state_path = ctx.config.state_path;
  }
  try {
    *next_pollers = MakePollers(ctx, **next);
  } catch (const std::system_error& e) {
    return std::string("cannot start the polling threads: ") + e.what();
  }
  return "";
}

// Takes away from the store the ids that left the config or an ids file of a kind that stays on.
// A kind switched off (or a workspace taken away) keeps all its jobs, hidden, as a restart
// without it would: an unfinished job of it that finishes meanwhile is still counted when it
// comes back. Returns how many.
size_t RemoveIdsNoLongerWatched(Context& ctx,
                                const std::map<std::string, std::vector<std::string>>& before,
                                const std::map<std::string, std::vector<std::string>>& after,
                                double now) {
  size_t removed_total = 0;
  for (const auto& [kind, ids] : before) {
    auto still = after.find(kind);
    if (still == after.end()) continue;
    std::vector<std::string> removed;
    for (const auto& id : ids) {
      if (std::find(still->second.begin(), still->second.end(), id) == still->second.end()) {
        removed.push_back(id);
      }
    }
    removed_total += removed.size();
    if (!removed.empty()) ctx.store->RemoveJobs(kind, removed, now);
  }
  return removed_total;
}

// The kinds, retention and rendering of the store and the publisher, the webhook settings and the
// ids-file figures, as `next` says; then `next` is the running config.
void ApplyConfig(Context& ctx, config::Config next) {
  collect::RenderOptions render = ctx.publisher->options();
  const bool rerender = render.per_job_metrics != next.per_job_metrics;
  render.per_job_metrics = next.per_job_metrics;
  ctx.publisher->SetOptions(render);
  ctx.store->SetWorkspaces(next.WorkspaceNames());
  ctx.store->Reconfigure(
      next.StoreKinds(), std::chrono::duration<double>(next.terminal_retention).count(),
      std::chrono::duration<double>(next.forget_after).count(),
      static_cast<size_t>(next.max_tracked_jobs), JobRenderer(render), rerender, BreakdownOf(next));
  ctx.config = std::move(next);
  ctx.webhook->Configure(WebhookSettings(ctx.config));
  std::set<std::string> with_ids_file;
  for (const config::Config* polled : ctx.config.Polled()) {
    for (const auto& [kind, section] : polled->kinds) {
      if (polled->KindEnabled(kind) && !section.ids_file.empty()) {
        with_ids_file.insert(creatify::ScopedKind(polled->workspace, kind));
      }
    }
  }
  ctx.store->KeepIdsFiles(with_ids_file);
}

void StartNextPollers(Context& ctx, Pollers next_pollers) {
  ctx.pollers = std::move(next_pollers);
  try {
    StartPollers(ctx.pollers);
  } catch (const std::system_error& e) {
    logging::Error("Cannot start polling after the reload; serving the last known data",
                   {{"error", e.what()}});
  }
}

}  // namespace

std::string Reload(Context& ctx, Coalescer::Clock::time_point asked) {
  return ctx.reloads.Run(asked);
}

std::string ReloadOnce(Context& ctx) {
  std::optional<config::Config> next;
  Pollers next_pollers;
  if (std::string error = Prepare(ctx, &next, &next_pollers); !error.empty()) {
    logging::Error("Reload failed; the running configuration stays", {{"error", error}});
    ctx.store->RecordReload(false, state::UnixNow());
    ctx.store->PublishIfChanged();
    return error;
  }
  // The running poller finishes (its requests in flight are cancelled); its successor starts
  // from the same store, so nothing counted is lost.
  const auto before = StaticIds(ctx.pollers);
  StopPollers(ctx.pollers);
  const double now = state::UnixNow();
  const size_t removed = RemoveIdsNoLongerWatched(ctx, before, StaticIds(next_pollers), now);
  ApplyConfig(ctx, std::move(*next));
  StartNextPollers(ctx, std::move(next_pollers));
  ctx.store->RecordReload(true, now);
  ctx.store->PublishIfChanged();
  logging::Info("Reloaded the configuration",
                {{"path", ctx.config.path},
                 {"kinds", std::to_string(ctx.config.StoreKinds().size())},
                 {"ids_removed", std::to_string(removed)}});
  return "";
}

}  // namespace app
