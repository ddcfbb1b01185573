// Compares text with a golden file under tests/golden/. With CREATIFY_UPDATE_GOLDEN=1 in the
// environment the file is rewritten instead (scripts/update-golden.sh); never silently.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace testsupport {

inline std::string GoldenPath(const std::string& name) {
  return std::string(CREATIFY_SOURCE_DIR) + "/tests/golden/" + name;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Returns the golden text to compare with (after rewriting it when asked to).
inline std::string Golden(const std::string& name, const std::string& actual) {
  const char* update = std::getenv("CREATIFY_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(GoldenPath(name), std::ios::binary) << actual;
  }
  return ReadFile(GoldenPath(name));
}

}  // namespace testsupport
