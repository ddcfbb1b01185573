#include "config/yaml_file.h"

#include <cstring>
#include <exception>
#include <vector>

#include "config/read_file.h"

namespace config {
namespace {

std::string Where(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

}  // namespace

bool ParseYamlFile(const std::string& path, std::size_t max_bytes,
                   const std::function<bool(const YAML::Node& root, std::string* error)>& parse,
                   std::string* error) {
  std::string text;
  int err = 0;
  switch (ReadFile(path, max_bytes, &text, &err)) {
    case ReadResult::kOk:
      break;
    case ReadResult::kError:
      *error = path + ": cannot read: " + std::strerror(err);
      return false;
    case ReadResult::kTooLarge:
      *error = path + ": cannot read: larger than " + std::to_string(max_bytes) + " bytes";
      return false;
  }

  // yaml-cpp reports every problem by throwing; nothing of it leaves this function.
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    for (std::size_t i = 1; i < documents.size(); ++i) {
      if (!documents[i].IsNull()) {
        *error = Where(path, documents[i].Mark()) + ": only one YAML document is allowed";
        return false;
      }
    }
    return parse(documents.empty() ? YAML::Node() : documents[0], error);
  } catch (const YAML::Exception& e) {
    *error = e.mark.is_null() ? path + ": " + e.msg : Where(path, e.mark) + ": " + e.msg;
  } catch (const std::exception& e) {
    *error = path + ": " + e.what();
  }
  return false;
}

}  // namespace config
