#include "config/test_env.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace config_test {

std::map<std::string, std::string>& FakeEnv() {
  static std::map<std::string, std::string> env;
  return env;
}

std::optional<std::string> Lookup(const char* name) {
  auto it = FakeEnv().find(name);
  if (it == FakeEnv().end()) return std::nullopt;
  return it->second;
}

void SetDefaultEnv() { FakeEnv() = {{"CREATIFY_API_ID", kEnvId}, {"CREATIFY_API_KEY", kEnvKey}}; }

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "creatify-config-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::filesystem::path file = path_ / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file.string();
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::filesystem::path> YamlFiles(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

namespace {

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
  return text;
}

}  // namespace

std::string ExpectedError(const std::filesystem::path& yaml) {
  std::filesystem::path error_file = std::filesystem::path(yaml).replace_extension(".error");
  REQUIRE_MESSAGE(std::filesystem::exists(error_file), "missing " << error_file.string());
  std::string expected = ReadText(error_file);
  REQUIRE(!expected.empty());
  REQUIRE(expected.back() == '\n');
  expected.pop_back();
  expected = Replace(expected, "{file}", yaml.string());
  return Replace(expected, "{dir}", yaml.parent_path().string());
}

}  // namespace config_test
