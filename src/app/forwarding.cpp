// Making the webhook forwarder: a step of CreateStore, kept apart because it decides where the
// calls to forward are kept.
#include "app/context.h"
#include "log/log.h"
#include "version.h"

namespace app {

void CreateForwarder(Context& ctx) {
  if (ctx.shard.total <= 1 || ctx.flags.peer_url.empty()) return;
  // Only a file that StateFile opened at start (restored or made afresh): a file it could not
  // open now may be moved aside by a later write, and calls stored in it would never be resumed.
  if (ctx.state_file && ctx.state_file->is_open()) {
    std::string error;
    ctx.forward_queue = persist::OpenForwardQueue(ctx.state_file->path(), &error);
    if (!ctx.forward_queue) {
      logging::Warn("Webhook calls to forward are kept in memory only: a stop may lose some",
                    {{"error", error}});
    }
  } else if (ctx.state_file) {
    logging::Warn(
        "Webhook calls to forward are kept in memory only while the state file is unavailable: "
        "a stop may lose some",
        {{"path", ctx.state_file->path()}});
  }
  state::Store* store = ctx.store.get();
  // Shown (at 0) from now on; the forwarder adds the calls it resumes.
  store->AddWebhookForwardsWaiting(0);
  ctx.forwarder = std::make_unique<webhook::Forwarder>(
      webhook::ForwarderOptions{
          .url_template = ctx.flags.peer_url,
          .user_agent = std::string("creatify-exporter/") + creatify_exporter::kVersion,
          .total_shards = ctx.shard.total},
      ctx.forward_queue.get(),
      [store](const std::string& kind, std::string_view result) {
        store->CountWebhookForward(kind, result);
        // Shown, and written to the state file, without waiting for the next poll cycle.
        store->PublishIfChanged();
      },
      [store](int delta) { store->AddWebhookForwardsWaiting(delta); });
}

}  // namespace app
