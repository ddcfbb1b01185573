// Helpers shared by the config tests: a fake environment for LoadConfig and scratch files.
// Not thread-safe; the tests run one at a time.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace config_test {

// The environment seen by Lookup; every test case sets what it needs.
std::map<std::string, std::string>& FakeEnv();
std::optional<std::string> Lookup(const char* name);

// Credentials that must never show up in a message.
inline constexpr char kEnvId[] = "SECRET-ID-from-env";
inline constexpr char kEnvKey[] = "SECRET-KEY-from-env";
// FakeEnv() = {CREATIFY_API_ID: kEnvId, CREATIFY_API_KEY: kEnvKey}.
void SetDefaultEnv();

// A fresh directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

std::string ReadText(const std::filesystem::path& path);

// The files `*.yaml` in `dir`, sorted.
std::vector<std::filesystem::path> YamlFiles(const std::filesystem::path& dir);

// The message an invalid file must fail with: the .error file beside `yaml`, without its final
// newline, {file} and {dir} replaced by the file's path and its folder. Fails the test (doctest
// REQUIRE) when it is missing or does not end with a newline.
std::string ExpectedError(const std::filesystem::path& yaml);

}  // namespace config_test
