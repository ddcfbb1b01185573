#include "app/app.h"

#include <cstdio>
#include <cstdlib>

#include "app/context.h"
#include "app/health.h"
#include "log/log.h"
#include "version.h"

namespace app {

int Run(const Flags& flags) {
  if (flags.help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (flags.version) {
    std::printf("creatify-exporter %s (revision %s)\n", creatify_exporter::kVersion,
                creatify_exporter::kRevision);
    return 0;
  }
  if (flags.health_check) {
    return RunHealthCheck(HealthSocketPath(flags, std::getenv(kHealthSocketEnv)));
  }
  logging::Configure(flags.log_level, flags.log_format);

  Context ctx;
  ctx.flags = flags;
  if (!LoadConfiguration(ctx) || !LoadWebConfiguration(ctx)) return 1;
  if (flags.config_check) {
    std::printf("%s: the configuration is valid\n", ctx.config.path.c_str());
    if (!flags.web_config_file.empty()) {
      std::printf("%s: the web configuration is valid\n", flags.web_config_file.c_str());
    }
    return 0;
  }

  // Start-up, in order; the first failing step ends the process.
  for (auto step : {LimitMemoryArenas, BlockStopSignals, ResolveShard, OpenState, CreateStore,
                    StartStateWriter, BindServer, BindHealthSocket, StartPoller, StartServing}) {
    if (!step(ctx)) {
      StopPoller(ctx);
      StopServer(ctx);
      StopForwarder(ctx);
      StopStateWriter(ctx);
      return 1;
    }
  }

  WaitForStopSignal(ctx);

  // Shut-down, in order: stop answering, stop forwarding, stop polling, then write the last state.
  StopServer(ctx);
  StopForwarder(ctx);
  StopPoller(ctx);
  StopStateWriter(ctx);
  logging::Info("Stopped");
  return 0;
}

}  // namespace app
