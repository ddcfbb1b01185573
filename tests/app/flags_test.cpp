#include "app/flags.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

using app::Flags;
using app::ParseFlags;

namespace {

struct Parsed {
  std::optional<Flags> flags;
  std::string error;
};

// Runs ParseFlags on "creatify-exporter" followed by `args`.
Parsed Parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"creatify-exporter"};
  argv.insert(argv.end(), args.begin(), args.end());
  Parsed p;
  p.flags = ParseFlags(static_cast<int>(argv.size()), argv.data(), &p.error);
  return p;
}

std::string ErrorOf(std::initializer_list<const char*> args) {
  Parsed p = Parse(args);
  CHECK_FALSE(p.flags.has_value());
  return p.error;
}

}  // namespace

TEST_CASE("defaults: only --config.file given") {
  Parsed p = Parse({"--config.file=c.yaml"});
  REQUIRE(p.flags.has_value());
  CHECK(p.flags->config_file == "c.yaml");
  CHECK(p.flags->listen_address == ":10487");
  CHECK(p.flags->telemetry_path == "/metrics");
  CHECK(p.flags->web_config_file.empty());
  CHECK(p.flags->log_level == logging::Level::kInfo);
  CHECK(p.flags->log_format == logging::Format::kLogfmt);
  CHECK_FALSE(p.flags->config_check);
  CHECK_FALSE(p.flags->version);
  CHECK_FALSE(p.flags->help);
}

TEST_CASE("every flag, as --flag=value") {
  Parsed p = Parse({"--config.file=/etc/c.yaml", "--web.listen-address=127.0.0.1:9000",
                    "--web.telemetry-path=/custom/metrics", "--log.level=debug",
                    "--log.format=json", "--config.check", "--web.config.file=/etc/web.yml"});
  REQUIRE(p.flags.has_value());
  CHECK(p.flags->web_config_file == "/etc/web.yml");
  CHECK(p.flags->config_file == "/etc/c.yaml");
  CHECK(p.flags->listen_address == "127.0.0.1:9000");
  CHECK(p.flags->telemetry_path == "/custom/metrics");
  CHECK(p.flags->log_level == logging::Level::kDebug);
  CHECK(p.flags->log_format == logging::Format::kJson);
  CHECK(p.flags->config_check);
}

TEST_CASE("every flag, as --flag value") {
  Parsed p = Parse({"--config.file", "c.yaml", "--web.listen-address", "[::1]:9000",
                    "--web.telemetry-path", "/m", "--log.level", "warn", "--log.format", "logfmt",
                    "--web.config.file", "web.yml"});
  REQUIRE(p.flags.has_value());
  CHECK(p.flags->web_config_file == "web.yml");
  CHECK(p.flags->config_file == "c.yaml");
  CHECK(p.flags->listen_address == "[::1]:9000");
  CHECK(p.flags->telemetry_path == "/m");
  CHECK(p.flags->log_level == logging::Level::kWarn);
  CHECK(p.flags->log_format == logging::Format::kLogfmt);
}

TEST_CASE("every log level") {
  struct Case {
    const char* flag;
    logging::Level level;
  };
  for (const Case& c : {Case{"--log.level=debug", logging::Level::kDebug},
                        Case{"--log.level=info", logging::Level::kInfo},
                        Case{"--log.level=warn", logging::Level::kWarn},
                        Case{"--log.level=error", logging::Level::kError}}) {
    CAPTURE(c.flag);
    Parsed p = Parse({"--config.file=c.yaml", c.flag});
    REQUIRE(p.flags.has_value());
    CHECK(p.flags->log_level == c.level);
  }
}

TEST_CASE("--help and --version need no --config.file") {
  Parsed help = Parse({"--help"});
  REQUIRE(help.flags.has_value());
  CHECK(help.flags->help);
  Parsed short_help = Parse({"-h"});
  REQUIRE(short_help.flags.has_value());
  CHECK(short_help.flags->help);
  Parsed version = Parse({"--version"});
  REQUIRE(version.flags.has_value());
  CHECK(version.flags->version);
  CHECK_FALSE(version.flags->help);
}

TEST_CASE("--web.health-check needs no --config.file, and the socket comes from the flag or env") {
  Parsed check = Parse({"--web.health-check"});
  REQUIRE(check.flags.has_value());
  CHECK(check.flags->health_check);
  CHECK_FALSE(check.flags->health_socket.has_value());
  CHECK(app::HealthSocketPath(*check.flags, nullptr).empty());
  CHECK(app::HealthSocketPath(*check.flags, "/env/health.sock") == "/env/health.sock");
  // Set to "" in the environment: no socket.
  CHECK(app::HealthSocketPath(*check.flags, "").empty());

  Parsed given = Parse({"--web.health-check", "--web.health-socket=/flag/health.sock"});
  REQUIRE(given.flags.has_value());
  CHECK(app::HealthSocketPath(*given.flags, "/env/health.sock") == "/flag/health.sock");

  Parsed exporter = Parse({"--config.file=c.yaml", "--web.health-socket", "/run/h.sock"});
  REQUIRE(exporter.flags.has_value());
  CHECK_FALSE(exporter.flags->health_check);
  CHECK(exporter.flags->health_socket == "/run/h.sock");

  CHECK(Parse({"--web.health-socket=/run/h.sock"}).error ==
        "missing required flag --config.file (see --help)");
  CHECK(Parse({"--web.health-check=yes"}).error == "flag --web.health-check takes no value");
  CHECK(Parse({"--web.health-check", "--web.health-socket="}).error ==
        "flag --web.health-socket needs a value");
}

TEST_CASE("invalid command lines, with their exact messages") {
  struct Case {
    std::initializer_list<const char*> args;
    const char* error;
  };
  const Case cases[] = {
      {{}, "missing required flag --config.file (see --help)"},
      {{"--config.check"}, "missing required flag --config.file (see --help)"},
      {{"--config.file=c.yaml", "--bogus"}, "unknown flag --bogus (see --help)"},
      {{"--config.file=c.yaml", "--bogus=1"}, "unknown flag --bogus (see --help)"},
      {{"--help", "--web.listen_address=:1"}, "unknown flag --web.listen_address (see --help)"},
      {{"-config.file=c.yaml"},
       "unexpected argument \"-config.file=c.yaml\" (flags start with --)"},
      {{"--config.file=c.yaml", "extra"}, "unexpected argument \"extra\" (flags start with --)"},
      {{"--config.file=c.yaml", "--"}, "unexpected argument \"--\" (flags start with --)"},
      {{"--config.file"}, "flag --config.file needs a value"},
      {{"--config.file="}, "flag --config.file needs a value"},
      {{"--config.file", "--version"}, "flag --config.file needs a value"},
      {{"--config.file=c.yaml", "--log.level"}, "flag --log.level needs a value"},
      {{"--config.file=c.yaml", "--web.config.file="}, "flag --web.config.file needs a value"},
      {{"--config.file=c.yaml", "--web.config.file=a", "--web.config.file=b"},
       "flag --web.config.file given more than once"},
      {{"--version=true"}, "flag --version takes no value"},
      {{"--config.file=c.yaml", "--config.check=false"}, "flag --config.check takes no value"},
      {{"--config.file=a.yaml", "--config.file=b.yaml"}, "flag --config.file given more than once"},
      {{"--help", "-h"}, "flag --help given more than once"},
      {{"--config.file=c.yaml", "--log.level=verbose"},
       "--log.level: invalid value \"verbose\" (expected debug, info, warn or error)"},
      {{"--config.file=c.yaml", "--log.level=INFO"},
       "--log.level: invalid value \"INFO\" (expected debug, info, warn or error)"},
      {{"--config.file=c.yaml", "--log.format=text"},
       "--log.format: invalid value \"text\" (expected logfmt or json)"},
      {{"--config.file=c.yaml", "--web.listen-address=10487"},
       "--web.listen-address: invalid address \"10487\" (expected HOST:PORT, [IPv6]:PORT or "
       ":PORT)"},
      {{"--config.file=c.yaml", "--web.listen-address=:http"},
       "--web.listen-address: invalid address \":http\" (expected HOST:PORT, [IPv6]:PORT or "
       ":PORT)"},
      {{"--config.file=c.yaml", "--web.listen-address=::1:9000"},
       "--web.listen-address: invalid address \"::1:9000\" (expected HOST:PORT, [IPv6]:PORT or "
       ":PORT)"},
      {{"--config.file=c.yaml", "--web.telemetry-path=metrics"},
       "--web.telemetry-path: must start with \"/\", got \"metrics\""},
      {{"--config.file=c.yaml", "--web.telemetry-path=/"},
       "--web.telemetry-path: \"/\" is the landing page"},
      {{"--config.file=c.yaml", "--web.telemetry-path=/-/healthy"},
       "--web.telemetry-path: \"/-/healthy\" is the health endpoint"},
      {{"--config.file=c.yaml", "--web.telemetry-path=/-/ready"},
       "--web.telemetry-path: \"/-/ready\" is the readiness endpoint"},
      {{"--config.file=c.yaml", "--web.telemetry-path=/metrics?x=1"},
       "--web.telemetry-path: \"/metrics?x=1\" may hold only letters, digits and / . _ ~ -"},
      {{"--config.file=c.yaml", "--web.telemetry-path=/me trics"},
       "--web.telemetry-path: \"/me trics\" may hold only letters, digits and / . _ ~ -"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const char* a : c.args) joined += std::string(a) + " ";
    CAPTURE(joined);
    CHECK(ErrorOf(c.args) == c.error);
  }
}

TEST_CASE("ParseListenAddress") {
  struct Good {
    const char* text;
    const char* host;
    int port;
  };
  for (const Good& g : {
           Good{":10487", "0.0.0.0", 10487},
           Good{"127.0.0.1:9000", "127.0.0.1", 9000},
           Good{"localhost:80", "localhost", 80},
           Good{"exporter.example-1.internal:65535", "exporter.example-1.internal", 65535},
           Good{"[::1]:9000", "::1", 9000},
           Good{"[::]:1", "::", 1},
           Good{"[fe80::1%eth0]:9000", "fe80::1%eth0", 9000},
           Good{"127.0.0.1:0", "127.0.0.1", 0},
       }) {
    CAPTURE(g.text);
    auto a = app::ParseListenAddress(g.text);
    REQUIRE(a.has_value());
    CHECK(a->host == g.host);
    CHECK(a->port == g.port);
  }
  for (const char* bad : {"", ":", "10487", "host", "host:", ":65536", ":99999999999", ":-1",
                          ":+80", ":8o", "::1:80", "[::1]", "[::1]:", "[]:80", "[::1:80",
                          "[127.0.0.1]:80", "ho st:80", "host/x:80", "host:80 "}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(app::ParseListenAddress(bad).has_value());
  }
}

TEST_CASE("Usage lists every flag, with the defaults of those that have one") {
  std::string usage = app::Usage();
  for (const char* text :
       {"-h, --help\n", "--version\n", "--config.file=PATH\n", "--config.check\n",
        "--web.listen-address=HOST:PORT (default \":10487\")\n",
        "--web.telemetry-path=PATH (default \"/metrics\")\n", "--web.config.file=PATH\n",
        "--log.level=LEVEL (default \"info\")\n", "--log.format=FORMAT (default \"logfmt\")\n",
        "--total-shards=N (default \"1\")\n", "--shard=I\n", "--web.health-socket=PATH\n",
        "--web.health-check\n", "CREATIFY_API_ID", "CREATIFY_API_KEY",
        "CREATIFY_EXPORTER_HEALTH_SOCKET"}) {
    CAPTURE(text);
    CHECK(usage.find(text) != std::string::npos);
  }
  CHECK(usage.back() == '\n');
  // Every line fits an 80-column terminal.
  std::size_t start = 0;
  for (std::size_t end = usage.find('\n'); end != std::string::npos;
       start = end + 1, end = usage.find('\n', start)) {
    CAPTURE(usage.substr(start, end - start));
    CHECK(end - start <= 80);
  }
}

TEST_CASE("--shard and --total-shards, and the shard taken from a StatefulSet pod name") {
  auto p = Parse({"--config.file=c.yaml", "--total-shards=3", "--shard=2"});
  REQUIRE(p.flags.has_value());
  CHECK(p.flags->total_shards == 3);
  CHECK(p.flags->shard == 2);
  std::string error;
  CHECK(app::ResolveShard(*p.flags, "ignored-7", &error) == 2);

  CHECK(Parse({"--config.file=c.yaml", "--total-shards=3", "--shard=3"}).error ==
        "--shard=3 is not below --total-shards=3");
  CHECK(Parse({"--config.file=c.yaml", "--total-shards=0"}).error ==
        "--total-shards: invalid value \"0\" (expected 1 to 1000)");
  CHECK(Parse({"--config.file=c.yaml", "--shard=-1"}).error ==
        "--shard: invalid value \"-1\" (expected 0 to 999)");

  auto from_pod = Parse({"--config.file=c.yaml", "--total-shards=3"});
  REQUIRE(from_pod.flags.has_value());
  CHECK(app::ResolveShard(*from_pod.flags, "creatify-exporter-1", &error) == 1);
  CHECK_FALSE(app::ResolveShard(*from_pod.flags, "creatify-exporter-5", &error).has_value());
  CHECK(error == "the pod name \"creatify-exporter-5\" gives shard 5, not below --total-shards=3");
  CHECK_FALSE(app::ResolveShard(*from_pod.flags, "laptop", &error).has_value());
  CHECK(error ==
        "--total-shards=3 without --shard needs a pod name ending in -I (HOSTNAME is \"laptop\")");

  auto unsharded = Parse({"--config.file=c.yaml"});
  CHECK(app::ResolveShard(*unsharded.flags, "laptop", &error) == 0);
}
