// `creatify-exporter --web.health-check`: a client of the health socket (server::ListenLocal),
// for the container image's HEALTHCHECK and exec probes. It reaches the exporter beside it
// whatever TLS, client certificates and basic auth the web config turns on for TCP.
#pragma once

#include <chrono>
#include <string>

namespace app {

// How long the whole check may take: below the image's HEALTHCHECK --timeout (5 s), so that a
// stopped exporter is reported by the check itself, with its reason.
inline constexpr std::chrono::milliseconds kHealthCheckTimeout{3000};

// Sends GET /-/healthy on the Unix socket at `socket_path`: 0 when the answer is 200 within
// `timeout`; otherwise one line on stderr saying why, and 1.
int RunHealthCheck(const std::string& socket_path,
                   std::chrono::milliseconds timeout = kHealthCheckTimeout);

}  // namespace app
