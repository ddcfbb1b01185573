#include "server/routes.h"

namespace server {
namespace {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string LandingPage(const RouteOptions& options) {
  const std::string path = HtmlEscape(options.telemetry_path);
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<title>creatify-exporter</title>\n"
         "<style>body{font-family:sans-serif;max-width:48em;margin:2em auto;padding:0 1em}"
         "code{background:#f3f3f3;padding:0 .2em}</style>\n</head>\n<body>\n"
         "<h1>creatify-exporter</h1>\n"
         "<p>Prometheus exporter for the video jobs and credits of the Creatify API.</p>\n"
         "<p>Version <code>" +
         HtmlEscape(options.version) + "</code>, revision <code>" + HtmlEscape(options.revision) +
         "</code></p>\n<ul>\n"
         "<li><a href=\"" +
         path + "\">Metrics</a> (<code>" + path +
         "</code>)</li>\n"
         "<li><a href=\"/-/healthy\">Health</a> (<code>/-/healthy</code>)</li>\n"
         "<li><a href=\"/-/ready\">Readiness</a> (<code>/-/ready</code>: ready once the first "
         "poll of the API was attempted)</li>\n"
         "</ul>\n</body>\n</html>\n";
}

void AddRoutes(HttpServer& server, const RouteOptions& options, const state::Store& store,
               const collect::Publisher& publisher) {
  server.Get(options.telemetry_path, [&publisher, &store](const Request& request) {
    auto exposition = publisher.Current();
    // Before the store's first publish (start-up), render the current snapshot once.
    if (exposition == nullptr) exposition = collect::Render(store.Current(), publisher.options());
    const collect::Format format =
        request.accepts_openmetrics ? collect::Format::kOpenMetrics : collect::Format::kText;
    Response response{.status = 200,
                      .content_type = format == collect::Format::kOpenMetrics
                                          ? kOpenMetricsContentType
                                          : kMetricsContentType};
    if (request.accepts_gzip && !exposition->gzip_body(format).empty()) {
      response.content_encoding = "gzip";
      response.stream = StreamBody{
          .size = exposition->gzip_body(format).size(),
          .write = [exposition, format](const std::function<bool(std::string_view)>& write) {
            // The exposition, held here, keeps its gzip pieces alive: they are sent from the
            // pieces, never joined.
            return exposition->gzip_body(format).ForEach(write);
          }};
    } else {
      // Read as the connection takes it: 16 slow scrapers of a 12 MB body hold 16 buffers, not
      // 16 copies.
      auto reader = std::make_shared<collect::Exposition::Reader>(exposition, format);
      response.stream = StreamBody{.size = exposition->size(format),
                                   .read = [reader](char* buffer, size_t capacity) {
                                     return reader->Read(buffer, capacity);
                                   }};
    }
    return response;
  });
  server.Get("/", [page = LandingPage(options)](const Request&) {
    return Response{200, "text/html; charset=utf-8", page};
  });
  server.Get("/-/healthy", [](const Request&) {
    return Response{200, "text/plain; charset=utf-8", "Healthy\n"};
  });
  server.Get("/-/ready", [&store](const Request&) {
    if (store.Current()->polled) return Response{200, "text/plain; charset=utf-8", "Ready\n"};
    return Response{503, "text/plain; charset=utf-8",
                    "Not ready: the first poll of the Creatify API has not finished\n"};
  });
}

}  // namespace server
