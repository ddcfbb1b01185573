// The shut-down steps of app::Run; each is safe to call when its start-up step never ran.
#include "app/context.h"

namespace app {

void StopServer(Context& ctx) {
  if (ctx.web_config_watcher) ctx.web_config_watcher->Stop();
  if (ctx.server) ctx.server->Stop();
  if (ctx.server_thread.joinable()) ctx.server_thread.join();
}

void StopForwarder(Context& ctx) {
  if (!ctx.forwarder) return;
  ctx.forwarder->Stop(kForwardDrain);
  // The calls delivered meanwhile are counted in the last state written.
  ctx.store->PublishIfChanged();
}

void StopPoller(Context& ctx) { StopPollers(ctx.pollers); }

void StopStateWriter(Context& ctx) {
  if (ctx.state_writer) ctx.state_writer->Stop();
}

}  // namespace app
