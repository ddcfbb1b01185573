#include "config/config.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/test_env.h"
#include "creatify/kind.h"

using config::Config;
using config::KindConfig;
using config::LoadConfig;
using config_test::TempDir;
using std::chrono::milliseconds;

namespace {

// Loads `yaml` from a scratch file with the fake environment; fails the test on error.
Config MustLoad(const TempDir& dir, const std::string& yaml) {
  std::string path = dir.Write("config.yaml", yaml);
  std::string error;
  auto config = LoadConfig(path, &error, &config_test::Lookup);
  INFO("error: " << error);
  REQUIRE(config.has_value());
  CHECK(config->path == path);
  return *config;
}

std::string LoadError(const TempDir& dir, const std::string& yaml) {
  std::string path = dir.Write("config.yaml", yaml);
  std::string error;
  auto config = LoadConfig(path, &error, &config_test::Lookup);
  CHECK_FALSE(config.has_value());
  return error;
}

// The defaults with the path and the fake environment's credentials filled in.
Config Defaults(const std::string& path) {
  Config expected;
  expected.path = path;
  expected.api_id = config_test::kEnvId;
  expected.api_key = config_test::kEnvKey;
  return expected;
}

}  // namespace

TEST_CASE("a default Config holds the documented defaults") {
  Config c;
  CHECK(c.base_url == "https://api.creatify.ai");
  CHECK(c.timeout == milliseconds(10000));
  CHECK(c.max_concurrency == 4);
  CHECK(c.poll_interval == milliseconds(30000));
  CHECK(c.per_job_metrics);
  CHECK(c.max_body_bytes == 64 * 1024 * 1024);
  CHECK(c.terminal_retention == milliseconds(15 * 60 * 1000));
  CHECK(c.max_tracked_jobs == 10000);
  CHECK(c.state_path == "creatify-exporter.db");
  CHECK(c.forget_after == milliseconds(7LL * 24 * 3600 * 1000));
  CHECK(c.api_id.empty());
  CHECK(c.api_key.empty());
  CHECK(c.kind_table == creatify::BuiltinKinds());
  REQUIRE(c.kinds.size() == creatify::BuiltinKinds().size());
  for (const auto& kind : creatify::BuiltinKinds()) {
    CAPTURE(kind.name);
    auto it = c.kinds.find(kind.name);
    REQUIRE(it != c.kinds.end());
    // The original three kinds are on without a section; the others wait for theirs.
    const bool original =
        kind.name == "ads_clone" || kind.name == "custom_template" || kind.name == "aurora";
    CHECK(it->second.enabled == original);
    CHECK(it->second.ids.empty());
    CHECK(it->second.ordering == (kind.list ? "-created_at" : ""));
  }
}

TEST_CASE("an empty file, a file of comments and a bare document marker mean every default") {
  config_test::SetDefaultEnv();
  TempDir dir;
  for (const char* yaml : {"", "\n\n", "# nothing set\n  # still nothing\n", "---\n", "{}\n"}) {
    CAPTURE(std::string(yaml));
    Config c = MustLoad(dir, yaml);
    CHECK(c == Defaults(c.path));
  }
}

TEST_CASE("empty sections and empty id lists mean their defaults") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config c = MustLoad(dir, "api:\naurora:\nads_clone:\n  ids:\ncustom_template_jobs: {}\n");
  CHECK(c == Defaults(c.path));
}

TEST_CASE("every key is read") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config c = MustLoad(dir, R"(
api:
  base_url: http://127.0.0.1:18787
  timeout: 2500ms
  max_concurrency: 64
  max_body_bytes: 1048576
poll_interval: 1m30s
per_job_metrics: false
terminal_retention: 1s
discovery_interval: 10m
max_tracked_jobs: 250
state:
  path: /var/lib/creatify-exporter/state.db
  forget_after: 2w
ads_clone:
  enabled: false
  ids: [3f2a9c1e-0b7d-4c55-9a62-1d8e5f4b7a10, "ad_2"]
custom_template_jobs:
  ids:
    - tpl-1
    - TPL_2
aurora:
  enabled: true
  ids: ["0123"]
  ordering: created_at
)");
  CHECK(c.base_url == "http://127.0.0.1:18787");
  CHECK(c.timeout == milliseconds(2500));
  CHECK(c.max_concurrency == 64);
  CHECK(c.poll_interval == milliseconds(90000));
  CHECK_FALSE(c.per_job_metrics);
  CHECK(c.max_body_bytes == 1048576);
  CHECK(c.terminal_retention == milliseconds(1000));
  CHECK(c.discovery_interval == milliseconds(600000));
  CHECK(c.max_tracked_jobs == 250);
  CHECK(c.state_path == "/var/lib/creatify-exporter/state.db");
  CHECK(c.forget_after == milliseconds(14LL * 24 * 3600 * 1000));
  CHECK(c.kinds.at("ads_clone") ==
        KindConfig{false, {"3f2a9c1e-0b7d-4c55-9a62-1d8e5f4b7a10", "ad_2"}, ""});
  CHECK(c.kinds.at("custom_template") == KindConfig{true, {"tpl-1", "TPL_2"}, ""});
  CHECK(c.kinds.at("aurora") == KindConfig{true, {"0123"}, "created_at"});
  CHECK(c.api_id == config_test::kEnvId);
  CHECK(c.api_key == config_test::kEnvKey);
}

TEST_CASE("copies of a config hold its ids once, and a changed copy changes alone") {
  config_test::SetDefaultEnv();
  TempDir dir;
  const Config loaded = MustLoad(dir, "ads_clone:\n  ids: [a1, a2, a3]\n");
  const Config copy = loaded;  // NOLINT(performance-unnecessary-copy-initialization): the point
  const auto& ids = loaded.kinds.at("ads_clone").ids;
  CHECK(ids == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(&copy.kinds.at("ads_clone").ids.vector() == &ids.vector());

  Config changed = loaded;
  changed.kinds.at("ads_clone").ids.push_back("a4");
  CHECK(changed.kinds.at("ads_clone").ids == std::vector<std::string>{"a1", "a2", "a3", "a4"});
  CHECK(ids == std::vector<std::string>{"a1", "a2", "a3"});
  CHECK(copy.kinds.at("ads_clone").ids == ids);
  CHECK_FALSE(changed == loaded);
  CHECK(config::IdList{} == config::IdList(std::vector<std::string>{}));
  CHECK(config::IdList{}.empty());
}

TEST_CASE("kind sections are found through the kind table") {
  config_test::SetDefaultEnv();
  TempDir dir;
  for (const auto& kind : creatify::BuiltinKinds()) {
    CAPTURE(kind.config_key);
    Config c = MustLoad(dir, std::string(kind.config_key) + ":\n  ids: [x1]\n  enabled: false\n");
    for (const auto& [name, section] : c.kinds) {
      CAPTURE(name);
      if (name == kind.name) {
        CHECK(section.ids == std::vector<std::string>{"x1"});
        CHECK_FALSE(section.enabled);
      } else {
        CHECK(section == config::DefaultKinds().at(name));
      }
    }
  }
}

TEST_CASE("the smallest and largest bounds are accepted") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config low = MustLoad(dir, "api:\n  timeout: 1ms\n  max_concurrency: 1\npoll_interval: 100ms\n");
  CHECK(low.timeout == milliseconds(1));
  CHECK(low.max_concurrency == 1);
  CHECK(low.poll_interval == milliseconds(100));
  Config high = MustLoad(dir, "api:\n  timeout: 10m\npoll_interval: 23h60m\n");
  CHECK(high.timeout == milliseconds(600000));
  CHECK(high.poll_interval == milliseconds(86400000));
}

TEST_CASE("state.path may be empty or null: no persistence") {
  config_test::SetDefaultEnv();
  TempDir dir;
  CHECK(MustLoad(dir, "state:\n  path: \"\"\n").state_path.empty());
  CHECK(MustLoad(dir, "state:\n  path:\n").state_path.empty());
  CHECK(MustLoad(dir, "state:\n").state_path == "creatify-exporter.db");
}

TEST_CASE("an integer bound of ten digits is accepted, and one past it is not") {
  config_test::SetDefaultEnv();
  TempDir dir;
  CHECK(MustLoad(dir, "api:\n  max_body_bytes: 1073741824\n").max_body_bytes == 1 << 30);
  CHECK(LoadError(dir, "api:\n  max_body_bytes: 1073741825\n")
            .find("api.max_body_bytes: 1073741825 is out of range (1024 to 1073741824)") !=
        std::string::npos);
  CHECK(LoadError(dir, "max_tracked_jobs: 99999999999999999999999\n").find("is out of range") !=
        std::string::npos);
}

TEST_CASE("durations may be quoted") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config c = MustLoad(dir, "api:\n  timeout: \"5s\"\npoll_interval: '1h'\n");
  CHECK(c.timeout == milliseconds(5000));
  CHECK(c.poll_interval == milliseconds(3600000));
}

TEST_CASE("booleans are what yaml-cpp reads as booleans from unquoted words") {
  config_test::SetDefaultEnv();
  TempDir dir;
  for (const char* word : {"true", "True", "TRUE", "yes", "Yes", "on", "ON", "y"}) {
    CAPTURE(std::string(word));
    CHECK(MustLoad(dir, std::string("per_job_metrics: ") + word + "\n").per_job_metrics);
  }
  for (const char* word : {"false", "False", "FALSE", "no", "No", "off", "OFF", "n"}) {
    CAPTURE(std::string(word));
    CHECK_FALSE(MustLoad(dir, std::string("per_job_metrics: ") + word + "\n").per_job_metrics);
  }
  // Quoted, it is a string, whatever it says.
  CHECK(LoadError(dir, "per_job_metrics: 'false'\n").find("got the string \"false\"") !=
        std::string::npos);
}

TEST_CASE("base_url: http or https, optional port and path prefix, normalised") {
  config_test::SetDefaultEnv();
  TempDir dir;
  struct Case {
    const char* written;
    const char* kept;
  };
  for (const Case& c : {
           Case{"https://api.creatify.ai", "https://api.creatify.ai"},
           Case{"https://api.creatify.ai/", "https://api.creatify.ai"},
           Case{"http://127.0.0.1:18787", "http://127.0.0.1:18787"},
           Case{"http://localhost:8080/creatify/", "http://localhost:8080/creatify"},
           Case{"http://proxy.internal/a/b//", "http://proxy.internal/a/b"},
           Case{"HTTPS://api.creatify.ai", "https://api.creatify.ai"},
           Case{"http://[::1]:18787/x", "http://[::1]:18787/x"},
           Case{"https://api.creatify.ai:443", "https://api.creatify.ai:443"},
       }) {
    CAPTURE(c.written);
    Config config = MustLoad(dir, std::string("api:\n  base_url: \"") + c.written + "\"\n");
    CHECK(config.base_url == c.kept);
  }
}

TEST_CASE("credentials from the environment are trimmed") {
  config_test::FakeEnv() = {{"CREATIFY_API_ID", "  id-1\n"}, {"CREATIFY_API_KEY", "\tkey 1 \n"}};
  TempDir dir;
  Config c = MustLoad(dir, "");
  CHECK(c.api_id == "id-1");
  CHECK(c.api_key == "key 1");
}

TEST_CASE("credential files win over the environment, relative names follow the config file") {
  config_test::SetDefaultEnv();
  TempDir dir;
  std::string id_file = dir.Write("secrets/id", "file-id\n");
  dir.Write("secrets/key", "  file-key  \n\n");
  Config c = MustLoad(dir, "api:\n  api_id_file: " + id_file + "\n  api_key_file: secrets/key\n");
  CHECK(c.api_id == "file-id");
  CHECK(c.api_key == "file-key");
}

TEST_CASE("one credential may come from a file and the other from the environment") {
  config_test::FakeEnv() = {{"CREATIFY_API_KEY", "env-key"}};
  TempDir dir;
  dir.Write("id", "file-id");
  Config c = MustLoad(dir, "api:\n  api_id_file: id\n");
  CHECK(c.api_id == "file-id");
  CHECK(c.api_key == "env-key");
}

TEST_CASE("a FIFO or a device given as a file is refused at once, never waited on") {
  // A FIFO with no writer would block an open() or read() forever: start-up and reload must not
  // hang on a mistyped path (a secret mounted as a pipe, /dev/stdin, /dev/tty).
  config_test::SetDefaultEnv();
  TempDir dir;
  const std::string fifo = (dir.path() / "pipe").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string config_path = dir.Write("config.yaml", "api:\n  api_key_file: pipe\n");
  std::string error;
  CHECK_FALSE(config::LoadConfig(config_path, &error, &config_test::Lookup).has_value());
  CHECK(error == config_path + ":2:17: api.api_key_file: \"" + fifo + "\" is not a regular file");

  dir.Write("config.yaml", "custom_template_jobs:\n  ids_file: pipe\n");
  CHECK_FALSE(config::LoadConfig(config_path, &error, &config_test::Lookup).has_value());
  CHECK(error.find("is not a regular file") != std::string::npos);

  CHECK_FALSE(config::LoadConfig(fifo, &error, &config_test::Lookup).has_value());
  CHECK(error == fifo + ": cannot read: not a regular file");

  dir.Write("config.yaml", "api:\n  api_id_file: /dev/null\n");
  CHECK_FALSE(config::LoadConfig(config_path, &error, &config_test::Lookup).has_value());
  CHECK(error.find("\"/dev/null\" is not a regular file") != std::string::npos);
}

TEST_CASE("credential files: contents never appear in messages") {
  config_test::SetDefaultEnv();
  TempDir dir;
  dir.Write("bad-key", "SECRET\x01KEY");
  std::string big(5000, 'S');
  dir.Write("big-key", big);
  std::string error = LoadError(dir, "api:\n  api_key_file: bad-key\n");
  CHECK(error == dir.path().string() + "/config.yaml:2:17: api.api_key_file: \"" +
                     dir.path().string() +
                     "/bad-key\" holds control characters, which cannot be sent in an HTTP "
                     "header");
  error = LoadError(dir, "api:\n  api_key_file: big-key\n");
  CHECK(error == dir.path().string() + "/config.yaml:2:17: api.api_key_file: \"" +
                     dir.path().string() + "/big-key\" is larger than 4096 bytes");
  CHECK(error.find("SSSS") == std::string::npos);
}

TEST_CASE("an unreadable config file is named with the reason") {
  config_test::SetDefaultEnv();
  TempDir dir;
  std::string error;
  std::string missing = (dir.path() / "nope.yaml").string();
  CHECK_FALSE(LoadConfig(missing, &error, &config_test::Lookup).has_value());
  CHECK(error == missing + ": cannot read: No such file or directory");
  CHECK_FALSE(LoadConfig(dir.path().string(), &error, &config_test::Lookup).has_value());
  CHECK(error == dir.path().string() + ": cannot read: Is a directory");
}

TEST_CASE("LoadConfig reads the process environment when no lookup is given") {
  // This test owns the two variables while it runs and puts them back afterwards.
  struct Saved {
    const char* name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* name : {"CREATIFY_API_ID", "CREATIFY_API_KEY"}) {
    const char* v = std::getenv(name);
    saved.push_back({name, v ? std::optional<std::string>(v) : std::nullopt});
  }
  TempDir dir;
  std::string path = dir.Write("c.yaml", "");
  std::string error;
  ::setenv("CREATIFY_API_ID", "process-id", 1);
  ::setenv("CREATIFY_API_KEY", "process-key", 1);
  auto c = LoadConfig(path, &error);
  REQUIRE(c.has_value());
  CHECK(c->api_id == "process-id");
  CHECK(c->api_key == "process-key");
  ::unsetenv("CREATIFY_API_KEY");
  CHECK_FALSE(LoadConfig(path, &error).has_value());
  CHECK(error == path +
                     ":1:1: api: no API key: set the environment variable CREATIFY_API_KEY or "
                     "api.api_key_file");
  for (const Saved& s : saved) {
    if (s.value) {
      ::setenv(s.name, s.value->c_str(), 1);
    } else {
      ::unsetenv(s.name);
    }
  }
}

TEST_CASE("KindActive: enabled, and with ids or a list endpoint") {
  Config c;
  CHECK(c.KindActive("aurora"));
  CHECK_FALSE(c.KindActive("ads_clone"));
  CHECK_FALSE(c.KindActive("custom_template"));
  c.kinds["ads_clone"].ids = {"a"};
  CHECK(c.KindActive("ads_clone"));
  c.kinds["ads_clone"].enabled = false;
  CHECK_FALSE(c.KindActive("ads_clone"));
  c.kinds["aurora"].enabled = false;
  CHECK_FALSE(c.KindActive("aurora"));
  CHECK_FALSE(c.KindActive("no_such_kind"));
  // Looked up by the kind's name, not its config key.
  c.kinds["custom_template"].ids = {"t"};
  CHECK(c.KindActive("custom_template"));
  CHECK_FALSE(c.KindActive("custom_template_jobs"));
}

TEST_CASE("KindEnabled and EnabledKinds: the section is enabled, ids or not") {
  Config c;
  CHECK(c.EnabledKinds() == std::vector<std::string>{"ads_clone", "custom_template", "aurora"});
  // Enabled without ids: rendered, not polled.
  CHECK(c.KindEnabled("ads_clone"));
  CHECK_FALSE(c.KindActive("ads_clone"));
  c.kinds["custom_template"].enabled = false;
  CHECK_FALSE(c.KindEnabled("custom_template"));
  CHECK(c.EnabledKinds() == std::vector<std::string>{"ads_clone", "aurora"});
  CHECK_FALSE(c.KindEnabled("no_such_kind"));
  CHECK_FALSE(c.KindEnabled("custom_template_jobs"));
  // A section for a name that is not a kind is never on.
  c.kinds["no_such_kind"] = {};
  CHECK_FALSE(c.KindEnabled("no_such_kind"));
  CHECK_FALSE(c.KindActive("no_such_kind"));
}

TEST_CASE("the example config loads and equals the defaults") {
  config_test::SetDefaultEnv();
  std::string path = std::string(CREATIFY_SOURCE_DIR) + "/config/creatify-exporter.example.yaml";
  std::string error;
  auto c = LoadConfig(path, &error, &config_test::Lookup);
  INFO("error: " << error);
  REQUIRE(c.has_value());
  CHECK(*c == Defaults(path));
}

TEST_CASE("the example config shows every key, including the commented-out credential files") {
  std::string text = config_test::ReadText(std::string(CREATIFY_SOURCE_DIR) +
                                           "/config/creatify-exporter.example.yaml");
  for (const char* key :
       {"api:", "base_url:", "# api_id_file:", "# api_key_file:", "timeout:", "max_concurrency:",
        "max_body_bytes:", "poll_interval:", "per_job_metrics:", "terminal_retention:",
        "max_tracked_jobs:", "state:", "path:", "forget_after:", "# discovery_interval:"}) {
    CAPTURE(key);
    CHECK(text.find(key) != std::string::npos);
  }
  // A kind that is off by default is shown commented out: its section turns it on.
  for (const auto& kind : creatify::BuiltinKinds()) {
    CAPTURE(kind.config_key);
    const std::string section = (kind.on_by_default ? "\n" : "\n# ") + kind.config_key + ":\n";
    CHECK(text.find(section) != std::string::npos);
  }
  for (const char* key :
       {"# custom_kinds:", "#     statuses:", "#     progress_scale:", "#     info_fields:",
        "#   progress_scale:", "# breakdown:", "#   fields:", "#   max_values:", "# workspaces:",
        "#   - name: brand-a"}) {
    CAPTURE(key);
    CHECK(text.find(key) != std::string::npos);
  }
}

TEST_CASE("a new kind is off until its section is there, and an empty section turns it on") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config none = MustLoad(dir, "poll_interval: 1s\n");
  CHECK(none.EnabledKinds() == std::vector<std::string>{"ads_clone", "custom_template", "aurora"});
  Config some = MustLoad(dir,
                         "lipsyncs:\nproduct_to_videos:\n  ids: [p1]\nai_shorts:\n"
                         "  enabled: false\n");
  CHECK(some.EnabledKinds() == std::vector<std::string>{"ads_clone", "custom_template", "aurora",
                                                        "lipsync", "product_to_video"});
  CHECK(some.KindActive("lipsync"));
  CHECK(some.kinds.at("product_to_video").ids == std::vector<std::string>{"p1"});
  CHECK(some.kinds.at("lipsync").ordering == "-created_at");
}

TEST_CASE("progress_scale overrides a kind's row in the config's kind table") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config c = MustLoad(dir,
                      "aurora:\n  progress_scale: percent\nlipsyncs:\n  progress_scale: fraction\n"
                      "ads_clone:\n  progress_scale: percent\n");
  CHECK(creatify::FindKind(c.kind_table, "aurora")->progress_scale ==
        creatify::ProgressScale::kPercent);
  CHECK(creatify::FindKind(c.kind_table, "lipsync")->progress_scale ==
        creatify::ProgressScale::kFraction);
  CHECK(creatify::FindKind(c.kind_table, "ads_clone")->progress_scale ==
        creatify::ProgressScale::kPercent);
  CHECK(creatify::FindKind(c.kind_table, "custom_template")->progress_scale ==
        creatify::ProgressScale::kPercent);
  CHECK(creatify::FindKind(creatify::BuiltinKinds(), "aurora")->progress_scale ==
        creatify::ProgressScale::kFraction);
}

TEST_CASE("custom_kinds become rows after the built-in ones, in config order, with sections") {
  config_test::SetDefaultEnv();
  TempDir dir;
  Config c = MustLoad(dir,
                      "custom_kinds:\n"
                      "  - name: video_translation\n"
                      "    path: video_translations\n"
                      "    list: true\n"
                      "    statuses: {queued: in_queue, translating: running, finished: done,\n"
                      "               error: failed}\n"
                      "    progress_scale: percent\n"
                      "    info_fields: [name, target_language]\n"
                      "  - name: dubbing\n"
                      "    path: /api/v2/dubbings/\n"
                      "    statuses: {ok: done}\n"
                      "    ids: [d1, d2]\n"
                      "    enabled: false\n");
  REQUIRE(c.kind_table.size() == creatify::BuiltinKinds().size() + 2);
  const creatify::KindSpec& a = c.kind_table[creatify::BuiltinKinds().size()];
  CHECK(a.name == "video_translation");
  CHECK(a.config_key.empty());
  CHECK(a.path == "/api/video_translations/");
  CHECK(a.list);
  CHECK(a.max_ids_per_request == 100);
  CHECK(a.statuses == creatify::StatusWords{{"queued", creatify::Status::kInQueue},
                                            {"translating", creatify::Status::kRunning},
                                            {"finished", creatify::Status::kDone},
                                            {"error", creatify::Status::kFailed}});
  CHECK(creatify::MapStatus(a, "done") == creatify::Status::kUnknown);
  CHECK(a.progress_scale == creatify::ProgressScale::kPercent);
  CHECK(a.info_fields == std::vector<std::string>{"name", "target_language"});
  CHECK(c.kinds.at("video_translation") == KindConfig{true, {}, "-created_at"});
  const creatify::KindSpec& b = c.kind_table.back();
  CHECK(b.path == "/api/v2/dubbings/");
  CHECK_FALSE(b.list);
  CHECK(b.max_ids_per_request == 0);
  CHECK(b.progress_scale == creatify::ProgressScale::kNone);
  CHECK(c.kinds.at("dubbing") == KindConfig{false, {"d1", "d2"}, ""});
  CHECK(c.EnabledKinds() ==
        std::vector<std::string>{"ads_clone", "custom_template", "aurora", "video_translation"});
}

TEST_CASE("breakdown is off by default and takes fields of the enabled kinds or failed_reason") {
  config_test::SetDefaultEnv();
  TempDir dir;
  CHECK(MustLoad(dir, "").breakdown == config::BreakdownConfig{});
  CHECK(MustLoad(dir, "").breakdown.fields.empty());
  Config c =
      MustLoad(dir, "breakdown:\n  fields: [model_version, failed_reason]\n  max_values: 5\n");
  CHECK(c.breakdown.fields == std::vector<std::string>{"model_version", "failed_reason"});
  CHECK(c.breakdown.max_values == 5);
  CHECK(MustLoad(dir, "breakdown:\n  fields: [name]\n").breakdown.max_values == 20);
  // A field of a kind that is off by default, once its section turns it on.
  CHECK(MustLoad(dir, "ai_shorts: {}\nbreakdown:\n  fields: [style]\n").breakdown.fields ==
        std::vector<std::string>{"style"});
  // A custom kind's info field.
  Config custom = MustLoad(dir, R"(
custom_kinds:
  - name: dubbing
    path: dubbings
    list: true
    statuses: {finished: done, error: failed}
    info_fields: [voice]
breakdown:
  fields: [voice]
)");
  CHECK(custom.breakdown.fields == std::vector<std::string>{"voice"});
  // failed_reason needs no kind to list it; an empty breakdown section is off.
  CHECK(MustLoad(dir, "breakdown:\n  fields: [failed_reason]\n").breakdown.fields.size() == 1);
  CHECK(MustLoad(dir, "breakdown:\n").breakdown.fields.empty());
}

TEST_CASE("workspaces: each a config of its own, over the top-level settings") {
  config_test::SetDefaultEnv();
  TempDir dir;
  dir.Write("b/id", "id-of-b\n");
  dir.Write("b/key", "key-of-b\n");
  Config c = MustLoad(dir,
                      "poll_interval: 5s\n"
                      "api:\n"
                      "  base_url: http://127.0.0.1:1\n"
                      "  max_concurrency: 8\n"
                      "workspaces:\n"
                      "  - name: brand-a\n"
                      "    custom_template_jobs: {ids: [t1, t2]}\n"
                      "    aurora: {}\n"
                      "  - name: brand_b-2\n"
                      "    api: {api_id_file: b/id, api_key_file: b/key, max_concurrency: 2}\n"
                      "    lipsyncs: {}\n");
  REQUIRE(c.workspaces.size() == 2);
  const Config& a = c.workspaces[0];
  const Config& b = c.workspaces[1];
  CHECK(a.workspace == "brand-a");
  CHECK(b.workspace == "brand_b-2");
  // Unset api keys come from the top level, the credentials too (here: the environment).
  CHECK(a.base_url == "http://127.0.0.1:1");
  CHECK(a.max_concurrency == 8);
  CHECK(a.api_id == config_test::kEnvId);
  CHECK(a.poll_interval == std::chrono::seconds(5));
  CHECK(b.base_url == "http://127.0.0.1:1");
  CHECK(b.max_concurrency == 2);
  CHECK(b.api_id == "id-of-b");
  CHECK(b.api_key == "key-of-b");
  // A workspace polls only the kinds it names; the top level polls nothing.
  CHECK(a.EnabledKinds() == std::vector<std::string>{"custom_template", "aurora"});
  CHECK(a.kinds.at("custom_template").ids == std::vector<std::string>{"t1", "t2"});
  CHECK(b.EnabledKinds() == std::vector<std::string>{"lipsync"});
  CHECK(c.EnabledKinds().empty());
  CHECK(c.api_id.empty());
  CHECK(c.StoreKinds() ==
        std::vector<std::string>{"brand-a/custom_template", "brand-a/aurora", "brand_b-2/lipsync"});
  CHECK(c.WorkspaceNames() == std::vector<std::string>{"brand-a", "brand_b-2"});
  REQUIRE(c.Polled().size() == 2);
  CHECK(c.Polled()[1] == &b);

  // Without workspaces the config polls itself, and kinds are not scoped.
  Config plain = MustLoad(dir, "lipsyncs: {}\n");
  REQUIRE(plain.Polled().size() == 1);
  CHECK(plain.Polled()[0] == &plain);
  CHECK(plain.StoreKinds() ==
        std::vector<std::string>{"ads_clone", "custom_template", "aurora", "lipsync"});
}
