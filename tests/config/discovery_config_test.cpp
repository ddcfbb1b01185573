// The discovery keys: webhook.token / webhook.token_file, ids_file and discover, and the ids
// files themselves.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/ids_file.h"
#include "config/test_env.h"

using config::Config;
using config::LoadConfig;
using config_test::TempDir;

namespace {

Config MustLoad(const TempDir& dir, const std::string& yaml) {
  std::string path = dir.Write("config.yaml", yaml);
  std::string error;
  auto config = LoadConfig(path, &error, &config_test::Lookup);
  INFO("error: " << error);
  REQUIRE(config.has_value());
  return *config;
}

}  // namespace

TEST_CASE("webhook: off by default, a token inline or from a file") {
  config_test::SetDefaultEnv();
  TempDir dir;
  CHECK(Config().webhook.token.empty());
  CHECK(MustLoad(dir, "webhook:\n  token: 0123456789abcdef-_.~\n").webhook.token ==
        "0123456789abcdef-_.~");
  dir.Write("token", "  tok-0123456789abcdef \n");
  Config from_file = MustLoad(dir, "webhook:\n  token_file: token\n");
  CHECK(from_file.webhook.token == "tok-0123456789abcdef");
}

TEST_CASE("discover: list kinds without ids discover unless told otherwise") {
  config_test::SetDefaultEnv();
  TempDir dir;
  dir.Write("ids.txt", "a1\n");
  Config c;
  CHECK(c.KindDiscovers("aurora"));
  CHECK_FALSE(c.KindDiscovers("ads_clone"));
  c.kinds["aurora"].ids = {"x"};
  CHECK_FALSE(c.KindDiscovers("aurora"));
  c.kinds["aurora"].discover = true;
  CHECK(c.KindDiscovers("aurora"));
  c.kinds["aurora"].enabled = false;
  CHECK_FALSE(c.KindDiscovers("aurora"));

  Config with_file = MustLoad(dir, "aurora:\n  ids_file: ids.txt\n");
  CHECK(with_file.kinds["aurora"].ids_file == dir.path().string() + "/ids.txt");
  CHECK_FALSE(with_file.KindDiscovers("aurora"));
  CHECK(with_file.KindActive("aurora"));
  CHECK(MustLoad(dir, "aurora:\n  ids_file: ids.txt\n  discover: true\n").KindDiscovers("aurora"));
  CHECK_FALSE(MustLoad(dir, "aurora:\n  discover: false\n").KindDiscovers("aurora"));
  Config ads = MustLoad(dir, "ads_clone:\n  ids_file: ids.txt\n");
  CHECK(ads.KindActive("ads_clone"));
}

TEST_CASE("an ids file: one id per line, comments and blank lines ignored, bad lines reported") {
  auto content = config::ParseIdsFile(
      "# jobs of the spring campaign\n"
      "job-1\n"
      "\n"
      "  job_2   # the second one\r\n"
      "job-1\n"
      "not an id\n"
      "job/3\n"
      "job-4");
  CHECK(content.ids == std::vector<std::string>{"job-1", "job_2", "job-4"});
  REQUIRE(content.invalid.size() == 2);
  CHECK(content.invalid[0].number == 6);
  CHECK(content.invalid[0].text == "not an id");
  CHECK(content.invalid[1].number == 7);
  CHECK(config::ParseIdsFile("").ids.empty());
  CHECK(config::ParseIdsFile(std::string(300, 'a')).invalid.size() == 1);
}

TEST_CASE("an ids file that cannot be read says why") {
  TempDir dir;
  std::string error;
  CHECK_FALSE(config::ReadIdsFile(dir.path().string() + "/missing", &error).has_value());
  CHECK(error == "cannot read \"" + dir.path().string() + "/missing\": No such file or directory");
  CHECK(config::CheckIdsFile(dir.Write("ok", "a\n")).empty());
  std::string stat_error;
  auto before = config::StatFile(dir.path().string() + "/ok", &stat_error);
  REQUIRE(before.has_value());
  dir.Write("ok", "a\nb\n");
  auto after = config::StatFile(dir.path().string() + "/ok", &stat_error);
  REQUIRE(after.has_value());
  CHECK_FALSE(*before == *after);
}
