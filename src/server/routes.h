// The exporter's routes: the telemetry path, the landing page and the health endpoints. The
// telemetry path serves the publisher's current exposition as it is (plain, or its gzip form),
// so scrapes never wait on the poller and never render.
// Thread-safe: handlers may run concurrently.
#pragma once

#include <string>

#include "collect/collector.h"
#include "server/http_server.h"
#include "state/store.h"

namespace server {

struct RouteOptions {
  std::string telemetry_path = "/metrics";
  std::string version;
  std::string revision;
};

inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr char kOpenMetricsContentType[] =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// `store` and `publisher` must outlive `server`.
void AddRoutes(HttpServer& server, const RouteOptions& options, const state::Store& store,
               const collect::Publisher& publisher);

// The landing page's HTML.
std::string LandingPage(const RouteOptions& options);

}  // namespace server
