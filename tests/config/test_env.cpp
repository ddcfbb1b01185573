#include "config/test_env.h"

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

}  // namespace config_test
