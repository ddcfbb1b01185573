// The exporter process: start-up steps, serving until SIGINT/SIGTERM, shut-down steps.
#pragma once

#include "app/flags.h"

namespace app {

// Runs the exporter with parsed flags; returns the process exit code. Start-up errors are fatal:
// one clear line on stderr and a non-zero code.
int Run(const Flags& flags);

}  // namespace app
