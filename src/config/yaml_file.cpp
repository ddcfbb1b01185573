#include "config/yaml_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <cstring>
#include <exception>
#include <optional>
#include <sstream>

#include "config/read_file.h"

namespace config {
namespace {

std::string Where(const std::string& path, const YAML::Mark& mark) {
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// yaml-cpp 0.7 never consumes a ',' where a document's top node belongs (a file holding just
// ","): YAML::LoadAll then makes empty documents forever. The documents are counted first, with
// this handler, up to a bound no real file reaches.
constexpr int kMaxDocuments = 100;

// Where the first document with content after the first one starts, if any.
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  std::optional<YAML::Mark> second_content;

  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnMapEnd() override {}

 private:
  void Content(const YAML::Mark& mark) {
    if (documents > 1 && !second_content) second_content = mark;
  }
};

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
    case ReadResult::kNotRegular:
      *error = path + ": cannot read: not a regular file";
      return false;
  }

  // yaml-cpp reports every problem by throwing; nothing of it leaves this function.
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentCounter counter;
    while (!counter.second_content && parser.HandleNextDocument(counter)) {
      if (counter.documents > kMaxDocuments) {
        *error = path + ": not YAML that can be read (more than " + std::to_string(kMaxDocuments) +
                 " documents, or a ',' outside [ ] or { })";
        return false;
      }
    }
    if (counter.second_content) {
      *error = Where(path, *counter.second_content) + ": only one YAML document is allowed";
      return false;
    }
    return parse(YAML::Load(text), error);
  } catch (const YAML::Exception& e) {
    *error = e.mark.is_null() ? path + ": " + e.msg : Where(path, e.mark) + ": " + e.msg;
  } catch (const std::exception& e) {
    *error = path + ": " + e.what();
  }
  return false;
}

}  // namespace config
