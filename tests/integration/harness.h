// Starts the real creatify-simulator and the real creatify-exporter on loopback ports the OS
// picks, for end-to-end tests.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/metrics.h"
#include "support/process.h"

namespace e2e {

inline std::string Binary(const std::string& name) {
  return std::string(CREATIFY_BINARY_DIR) + "/" + name;
}

struct Simulator {
  std::unique_ptr<testsupport::Process> process;
  int port = 0;

  Simulator(const testsupport::TempDir& dir, std::vector<std::string> flags) {
    std::vector<std::string> argv = {Binary("creatify-simulator"), "--listen-address=127.0.0.1:0",
                                     "--api-id=demo-id", "--api-key=demo-key"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process = std::make_unique<testsupport::Process>(argv, dir.File("simulator.log"));
    port = testsupport::WaitForListeningPort(*process);
  }

  nlohmann::json State() const {
    auto result = testsupport::HttpGet(port, "/sim/state");
    return nlohmann::json::parse(result.body, nullptr, false);
  }

  std::vector<std::string> Ids(const std::string& kind) const {
    std::vector<std::string> ids;
    const nlohmann::json state = State();
    for (const auto& id : state["kinds"][kind]["ids"]) ids.push_back(id.get<std::string>());
    return ids;
  }

  bool Release() const { return testsupport::HttpPost(port, "/sim/release").status == 200; }

  // Switches a fault on for every later API request (POST /sim/fault?<query>), e.g.
  // "mode=status&status=503"; "mode=none" ends it. `body` is the body of mode=body.
  bool SetFault(const std::string& query, const std::string& body = "") const {
    return testsupport::HttpPost(port, "/sim/fault?" + query, body).status == 200;
  }
  // Milliseconds from the last SetFault to each API request it applied to.
  std::vector<long> FaultHits() const {
    std::vector<long> hits;
    const auto state =
        nlohmann::json::parse(testsupport::HttpGet(port, "/sim/fault").body, nullptr, false);
    if (state.is_object() && state.contains("hits_ms")) {
      for (const auto& hit : state["hits_ms"]) hits.push_back(hit.get<long>());
    }
    return hits;
  }
};

struct Exporter {
  std::unique_ptr<testsupport::Process> process;
  // Where it listens: 127.0.0.1, or the address its --web.listen-address names.
  std::string host;
  int port = 0;

  // `env` is added to the credentials in the exporter's environment.
  // A config without a `state:` section runs without persistence (tests run side by side, and
  // the default state file in the working directory would be shared); see WithState.
  Exporter(const testsupport::TempDir& dir, const std::string& config_yaml,
           std::vector<std::string> flags = {}, std::map<std::string, std::string> env = {}) {
    const bool has_state =
        config_yaml.rfind("state:", 0) == 0 || config_yaml.find("\nstate:") != std::string::npos;
    testsupport::WriteFile(dir.File("exporter.yaml"),
                           has_state ? config_yaml : config_yaml + "\nstate:\n  path: \"\"\n");
    std::vector<std::string> argv = {Binary("creatify-exporter"),
                                     "--config.file=" + dir.File("exporter.yaml")};
    // Any free port on 127.0.0.1, unless the flags say where.
    for (const auto& flag : flags) {
      // --web.listen-address=127.0.0.N:PORT
      if (flag.rfind("--web.listen-address=", 0) == 0) {
        host = flag.substr(flag.find('=') + 1, flag.rfind(':') - flag.find('=') - 1);
      }
    }
    if (host.empty()) {
      host = "127.0.0.1";
      argv.push_back("--web.listen-address=127.0.0.1:0");
    }
    argv.insert(argv.end(), flags.begin(), flags.end());
    env.emplace("CREATIFY_API_ID", "demo-id");
    env.emplace("CREATIFY_API_KEY", "demo-key");
    process = std::make_unique<testsupport::Process>(argv, dir.File("exporter.log"), env);
    port = testsupport::WaitForListeningPort(*process);
  }

  std::string MetricsText() const { return testsupport::HttpGetFrom(host, port, "/metrics").body; }
  testsupport::Exposition Metrics() const { return testsupport::ParseExposition(MetricsText()); }
};

// `config` with its state persisted in `path`.
inline std::string WithState(const std::string& config, const std::string& path) {
  return config + "\nstate:\n  path: \"" + path + "\"\n";
}

// An exporter config for a simulator on `port`, polling fast.
inline std::string ConfigFor(int port, const std::vector<std::string>& ads_clone_ids,
                             const std::vector<std::string>& custom_template_ids,
                             const std::string& extra = "") {
  auto list = [](const std::vector<std::string>& ids) {
    std::string out = "[";
    for (const auto& id : ids) out += (out.size() > 1 ? ", \"" : "\"") + id + "\"";
    return out + "]";
  };
  const auto timeout = testsupport::Scaled(std::chrono::seconds(2));
  return "api:\n  base_url: http://127.0.0.1:" + std::to_string(port) +
         "\n  timeout: " + std::to_string(timeout.count()) +
         "ms\n  max_concurrency: 4\npoll_interval: 200ms\nads_clone:\n  ids: " +
         list(ads_clone_ids) + "\ncustom_template_jobs:\n  ids: " + list(custom_template_ids) +
         "\naurora:\n  enabled: true\n" + extra;
}

}  // namespace e2e
