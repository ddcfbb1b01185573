// Every file under tests/testdata/config/invalid/ must fail to load with exactly the message in
// the .error file beside it. The .error text is part of the interface: review changes to it.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/test_env.h"

namespace fs = std::filesystem;

namespace {

const fs::path kInvalidDir = fs::path(CREATIFY_SOURCE_DIR) / "tests/testdata/config/invalid";

// <name>.env, when present, is the whole environment for that case: NAME=value lines, values
// taken verbatim. Without it the environment holds both credentials.
void SetEnvFor(const fs::path& yaml) {
  fs::path env_file = fs::path(yaml).replace_extension(".env");
  if (!fs::exists(env_file)) {
    config_test::SetDefaultEnv();
    return;
  }
  config_test::FakeEnv().clear();
  std::istringstream lines(config_test::ReadText(env_file));
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) config_test::FakeEnv()[line.substr(0, eq)] = line.substr(eq + 1);
  }
}

std::vector<fs::path> InvalidCases(const fs::path& dir = kInvalidDir) {
  return config_test::YamlFiles(dir);
}

// Loads every case under `dir` and compares the message with its .error file.
void CheckInvalidCases(const fs::path& dir) {
  std::vector<fs::path> cases = InvalidCases(dir);
  REQUIRE(cases.size() >= 60);
  for (const fs::path& yaml : cases) {
    CAPTURE(yaml.filename().string());
    const std::string expected = config_test::ExpectedError(yaml);

    SetEnvFor(yaml);
    std::string error = "untouched";
    auto config = config::LoadConfig(yaml.string(), &error, &config_test::Lookup);
    CHECK_FALSE(config.has_value());
    CHECK(error == expected);
    CHECK(error.find('\n') == std::string::npos);
    // Nothing secret leaks: neither the environment's values nor the credential files' contents.
    CHECK(error.find("SECRET") == std::string::npos);
    CHECK(error.find("hunter2") == std::string::npos);
  }
}

}  // namespace

TEST_CASE("every invalid config fails with exactly its expected message") {
  CheckInvalidCases(kInvalidDir);
}

TEST_CASE("a path in a message is never cut, however deep the config file lies") {
  // The same cases copied below a directory whose path is longer than any cut-off a message
  // might apply to values: the paths in the messages must still be whole.
  config_test::TempDir temp;
  fs::path deep = temp.path();
  for (int i = 0; i < 6; ++i)
    deep /= "a-rather-long-directory-name-to-make-the-path-long-" + std::to_string(i);
  fs::create_directories(deep);
  fs::copy(kInvalidDir, deep / "invalid", fs::copy_options::recursive);
  REQUIRE((deep / "invalid").string().size() > 300);
  CheckInvalidCases(deep / "invalid");
}

TEST_CASE("the invalid configs cover every required mistake") {
  std::set<std::string> names;
  for (const fs::path& yaml : InvalidCases()) names.insert(yaml.stem().string());
  for (const char* required : {
           "unknown_top_level_key",
           "unknown_api_key",
           "unknown_kind_key",
           "ordering_on_by_id_kind",
           "bool_as_quoted_string",
           "bool_as_word",
           "ids_as_map",
           "ids_number",
           "max_concurrency_string",
           "duration_words",
           "duration_no_unit",
           "duration_negative",
           "timeout_zero",
           "poll_interval_zero",
           "max_concurrency_zero",
           "max_concurrency_negative",
           "base_url_ftp",
           "base_url_query",
           "id_bad_characters",
           "id_duplicate",
           "missing_api_id",
           "missing_api_key",
           "credential_file_missing",
           "yaml_syntax_error",
           "progress_scale_unknown",
           "custom_kinds_as_map",
           "custom_kind_missing_statuses",
           "custom_kind_name_builtin",
           "custom_kind_name_duplicate",
           "custom_kind_path_builtin",
           "custom_kind_status_unknown",
           "custom_kind_info_field_reserved",
           "breakdown_field_not_carried",
           "breakdown_field_of_disabled_kind",
           "workspaces_top_level_kind",
           "workspaces_empty",
           "workspace_name_bad",
           "workspace_name_duplicate",
           "workspace_missing_name",
           "workspace_unknown_key",
           "workspace_missing_api_key",
       }) {
    CAPTURE(required);
    CHECK(names.count(required) == 1);
  }
}
