// The simulator's command line: defaults, both value forms, and one clear error per mistake.
#include "simulator/flags.h"

#include <doctest/doctest.h>

#include <map>
#include <sstream>

namespace simulator {
namespace {

Flags Parse(const std::vector<std::string>& args) {
  std::string error;
  auto flags = ParseFlags(args, &error);
  REQUIRE_MESSAGE(flags.has_value(), error);
  return *flags;
}

std::string Error(const std::vector<std::string>& args) {
  std::string error;
  auto flags = ParseFlags(args, &error);
  CHECK_FALSE(flags.has_value());
  CHECK(error.find('\n') == std::string::npos);
  return error;
}

TEST_CASE("defaults") {
  Flags flags = Parse({});
  CHECK(flags.listen_host == "127.0.0.1");
  CHECK(flags.listen_port == 18787);
  CHECK(flags.model.api_id == "demo-id");
  CHECK(flags.model.api_key == "demo-key");
  CHECK(flags.model.seed == 1);
  using Counts = std::map<std::string, int, std::less<>>;
  CHECK(flags.model.initial_jobs ==
        Counts{{"ads_clone", 5}, {"custom_template", 5}, {"aurora", 5}});
  CHECK(flags.model.spawn_interval.empty());
  CHECK(flags.model.max_jobs == 1000);
  CHECK(flags.model.kinds == BuiltinKinds());
  CHECK(flags.model.job.stage_duration == Millis(10'000));
  CHECK(flags.model.job.failure_ratio == 0.15);
  CHECK(flags.model.job.rejection_ratio == 0.05);
  CHECK(flags.model.initial_credits == 10000);
  CHECK_FALSE(flags.model.hold);
  CHECK(flags.model.fault_429 == 0);
  CHECK(flags.model.fault_5xx == 0);
  CHECK(flags.model.fault_malformed == 0);
  CHECK(flags.model.retry_after_seconds == 1);
  CHECK(flags.latency == Millis(0));
  CHECK(flags.exporter_config_path.empty());
  CHECK(flags.exporter_poll_interval == Millis(5'000));
  CHECK_FALSE(flags.exporter_state_path.has_value());
  CHECK_FALSE(flags.help);
}

TEST_CASE("values after = or as the next argument and switches alone") {
  Flags flags = Parse({"--listen-address=0.0.0.0:0",
                       "--api-id",
                       "id",
                       "--api-key=key",
                       "--seed",
                       "42",
                       "--ads-clone-jobs=0",
                       "--custom-template-jobs",
                       "7",
                       "--aurora-jobs=3000",
                       "--aurora-spawn-interval=1m30s",
                       "--max-aurora-jobs=5000",
                       "--stage-duration=250ms",
                       "--failure-ratio=0.5",
                       "--rejection-ratio=0.5",
                       "--initial-credits=12.5",
                       "--hold",
                       "--fault-429=0.1",
                       "--fault-5xx",
                       "0.2",
                       "--fault-malformed=0.7",
                       "--retry-after=3",
                       "--latency=2s",
                       "--write-exporter-config=/tmp/x.yaml",
                       "--exporter-poll-interval=1s",
                       "--exporter-base-url=http://sim:18787/",
                       "--exporter-state-path=/var/lib/creatify-exporter/state.db",
                       "--threads=2",
                       "--log-level=debug",
                       "--log-format=json"});
  CHECK(flags.listen_host == "0.0.0.0");
  CHECK(flags.listen_port == 0);
  CHECK(flags.model.api_id == "id");
  CHECK(flags.model.api_key == "key");
  CHECK(flags.model.seed == 42);
  using Counts = std::map<std::string, int, std::less<>>;
  CHECK(flags.model.initial_jobs ==
        Counts{{"ads_clone", 0}, {"custom_template", 7}, {"aurora", 3000}});
  CHECK(flags.model.spawn_interval.at("aurora") == Millis(90'000));
  CHECK(flags.model.max_jobs == 5000);
  CHECK(flags.model.job.stage_duration == Millis(250));
  CHECK(flags.model.initial_credits == 12.5);
  CHECK(flags.model.hold);
  CHECK(flags.model.fault_5xx == 0.2);
  CHECK(flags.model.retry_after_seconds == 3);
  CHECK(flags.latency == Millis(2'000));
  CHECK(flags.exporter_config_path == "/tmp/x.yaml");
  CHECK(flags.exporter_poll_interval == Millis(1'000));
  CHECK(flags.exporter_base_url == "http://sim:18787");
  CHECK(flags.exporter_state_path == "/var/lib/creatify-exporter/state.db");
  CHECK(flags.threads == 2);
  CHECK(flags.log_level == logging::Level::kDebug);
  CHECK(flags.log_format == logging::Format::kJson);

  CHECK_FALSE(Parse({"--hold", "--hold=false"}).model.hold);
  // Given empty, the written config turns persistence off, which is not the same as leaving out.
  CHECK(Parse({"--exporter-state-path="}).exporter_state_path == "");
  CHECK(Parse({"--listen-address=:9000"}).listen_host == "0.0.0.0");
  CHECK(Parse({"--listen-address=[::1]:9000"}).listen_host == "::1");
  CHECK(Parse({"--help"}).help);
  CHECK(Parse({"-h"}).help);
  CHECK(Parse({"--version"}).version);
}

TEST_CASE("each mistake is one line naming the flag") {
  CHECK(Error({"--bogus"}) == "unknown flag --bogus (see --help)");
  CHECK(Error({"stray"}).find("unexpected argument \"stray\"") == 0);
  CHECK(Error({"--seed"}) == "flag --seed needs a value (--seed=N)");
  CHECK(Error({"--seed=-1"}).find("--seed") != std::string::npos);
  CHECK(Error({"--failure-ratio=1.5"}) ==
        "invalid value \"1.5\" for --failure-ratio: expected a number from 0 to 1");
  CHECK(Error({"--fault-429=nan"}).find("--fault-429") != std::string::npos);
  CHECK(Error({"--listen-address=localhost"}).find("expected HOST:PORT") != std::string::npos);
  CHECK(Error({"--listen-address=127.0.0.1:70000"}).find("port") != std::string::npos);
  CHECK(Error({"--stage-duration=10 seconds"}).find("--stage-duration") != std::string::npos);
  CHECK(Error({"--exporter-poll-interval=10ms"}).find("at least 100ms") != std::string::npos);
  CHECK(Error({"--aurora-jobs=many"}).find("--aurora-jobs") != std::string::npos);
  CHECK(Error({"--threads=0"}).find("--threads") != std::string::npos);
  CHECK(Error({"--hold=yes"}).find("expected true or false") != std::string::npos);
  CHECK(Error({"--api-key="}).find("must not be empty") != std::string::npos);
  CHECK(Error({"--exporter-base-url=sim:1"}).find("http://") != std::string::npos);
  CHECK(Error({"--exporter-state-path=a\tb"}) ==
        "invalid value \"a\tb\" for --exporter-state-path: must not contain control characters");
  CHECK(Error({"--log-level=trace"}).find("--log-level") != std::string::npos);
  CHECK(Error({"--failure-ratio=0.6", "--rejection-ratio=0.5"}) ==
        "--failure-ratio plus --rejection-ratio must be at most 1");
  CHECK(Error({"--fault-429=0.5", "--fault-5xx=0.5", "--fault-malformed=0.1"}) ==
        "--fault-429 plus --fault-5xx plus --fault-malformed must be at most 1");
}

TEST_CASE("ParseDuration takes Prometheus durations and 0") {
  CHECK(ParseDuration("0") == Millis(0));
  CHECK(ParseDuration("0s") == Millis(0));
  CHECK(ParseDuration("500ms") == Millis(500));
  CHECK(ParseDuration("10s") == Millis(10'000));
  CHECK(ParseDuration("1m30s") == Millis(90'000));
  CHECK(ParseDuration("2h") == Millis(7'200'000));
  CHECK(ParseDuration("1h1m1s1ms") == Millis(3'661'001));
  for (const char* bad : {"", "10", "s", "1.5s", "10 s", "1s1m", "1s1s", "-1s", "10D", "1sx"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseDuration(bad).has_value());
  }
}

TEST_CASE("--help lists every flag with its default, within 100 columns") {
  std::string help = HelpText();
  for (const char* flag : {"--listen-address=HOST:PORT",
                           "--api-id",
                           "--api-key",
                           "--seed",
                           "--ads-clone-jobs",
                           "--custom-template-jobs",
                           "--aurora-jobs",
                           "--aurora-spawn-interval",
                           "--max-aurora-jobs",
                           "--stage-duration",
                           "--failure-ratio",
                           "--rejection-ratio",
                           "--initial-credits",
                           "--hold",
                           "--fault-429",
                           "--fault-5xx",
                           "--fault-malformed",
                           "--retry-after",
                           "--latency",
                           "--write-exporter-config",
                           "--exporter-poll-interval",
                           "--help"}) {
    CAPTURE(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
  for (const char* fallback : {"(default 127.0.0.1:18787)", "(default demo-id)", "(default 0.15)",
                               "(default 10s)", "(default 1000)"}) {
    CAPTURE(fallback);
    CHECK(help.find(fallback) != std::string::npos);
  }
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK(line.size() <= 100);
  }
}

TEST_CASE("DefaultBaseUrl reaches a wildcard address through loopback") {
  CHECK(DefaultBaseUrl("127.0.0.1", 80) == "http://127.0.0.1:80");
  CHECK(DefaultBaseUrl("0.0.0.0", 18787) == "http://127.0.0.1:18787");
  CHECK(DefaultBaseUrl("::", 1) == "http://[::1]:1");
  CHECK(DefaultBaseUrl("sim.local", 2) == "http://sim.local:2");
}

TEST_CASE("every kind: jobs at start and new jobs over time, by kind label") {
  Flags flags =
      Parse({"--jobs=lipsync=3", "--jobs", "product_to_video=2", "--ads-clone-jobs=0",
             "--spawn-interval=ai_short=2s", "--spawn-interval=aurora=0", "--max-jobs=40"});
  CHECK(flags.model.initial_jobs.at("lipsync") == 3);
  CHECK(flags.model.initial_jobs.at("product_to_video") == 2);
  CHECK(flags.model.initial_jobs.at("ads_clone") == 0);
  CHECK(flags.model.spawn_interval.at("ai_short") == Millis(2'000));
  CHECK(flags.model.spawn_interval.at("aurora") == Millis(0));
  CHECK(flags.model.max_jobs == 40);
}

TEST_CASE("a custom kind: its row from the flag, and its jobs by its name") {
  Flags flags = Parse({"--custom-kind=video_translation:video_translations:list:percent",
                       "--custom-kind=dubbing:/api/v2/dubbings/:single:fraction",
                       "--jobs=video_translation=4"});
  REQUIRE(flags.model.kinds.size() == BuiltinKinds().size() + 2);
  const KindRow& a = flags.model.kinds[BuiltinKinds().size()];
  CHECK(a.name == "video_translation");
  CHECK(a.path == "/api/video_translations/");
  CHECK(a.list);
  CHECK(a.progress == ProgressStyle::kPercentNumber);
  CHECK(a.vocabulary == Vocabulary::kCustom);
  const KindRow& b = flags.model.kinds.back();
  CHECK(b.path == "/api/v2/dubbings/");
  CHECK_FALSE(b.list);
  CHECK(b.progress == ProgressStyle::kRatioNumber);
  CHECK(flags.model.initial_jobs.at("video_translation") == 4);
}

TEST_CASE("kind flags that do not fit are refused, naming the flag") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--jobs=nonsense=3"},
           {"--jobs=lipsync"},
           {"--jobs=lipsync=-1"},
           {"--spawn-interval=lipsync=soon"},
           {"--spawn-interval=nonsense=1s"},
           {"--custom-kind=x:y:list"},
           {"--custom-kind=x:y:maybe:percent"},
           {"--custom-kind=x:y:list:per_mille"},
           {"--custom-kind=x:/v1/y/:list:percent"},
           {"--custom-kind=aurora:y:list:percent"},
           {"--custom-kind=x:aurora:list:percent"},
       }) {
    CAPTURE(args[0]);
    std::string error;
    CHECK_FALSE(ParseFlags(args, &error).has_value());
    CHECK(error.find(args[0].substr(2, args[0].find('=') - 2)) != std::string::npos);
  }
}
}  // namespace
}  // namespace simulator
