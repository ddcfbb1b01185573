#include "config/credentials.h"

#include <cstdlib>
#include <cstring>

#include "config/read_file.h"
#include "text/strings.h"

namespace config {
namespace {

constexpr std::size_t kMaxCredentialBytes = 4096;

bool ResolveCredential(const std::optional<CredentialFile>& file,
                       const std::optional<YAML::Mark>& api_mark, const std::string& api_path,
                       EnvLookup env, const char* env_name, std::string_view what,
                       std::string_view file_key, YamlReader& reader, std::string* out) {
  if (file) return ReadSecretFile(file->path, file->key_path, file->mark, reader, out);

  YAML::Mark mark = api_mark.value_or(YAML::Mark());
  std::optional<std::string> env_value;
  if (env != nullptr) {
    env_value = env(env_name);
  } else if (const char* v = std::getenv(env_name)) {
    env_value = v;
  }
  std::string_view value = env_value ? text::Trim(*env_value) : std::string_view();
  if (value.empty()) {
    return reader.Fail(mark, api_path,
                       "no " + std::string(what) + ": set the environment variable " + env_name +
                           " or " + api_path + "." + std::string(file_key));
  }
  for (char c : value) {
    if (text::IsControl(c)) {
      return reader.Fail(mark, api_path,
                         std::string("the environment variable ") + env_name +
                             " holds control characters, which cannot be sent in an HTTP header");
    }
  }
  *out = std::string(value);
  return true;
}

}  // namespace

bool ReadSecretFile(const std::string& path, const std::string& key_path, const YAML::Mark& mark,
                    YamlReader& reader, std::string* out) {
  std::string raw;
  int err = 0;
  switch (ReadFile(path, kMaxCredentialBytes, &raw, &err)) {
    case ReadResult::kOk:
      break;
    case ReadResult::kError:
      return reader.Fail(mark, key_path,
                         "cannot read " + QuotePath(path) + ": " + std::strerror(err));
    case ReadResult::kTooLarge:
      return reader.Fail(
          mark, key_path,
          QuotePath(path) + " is larger than " + std::to_string(kMaxCredentialBytes) + " bytes");
    case ReadResult::kNotRegular:
      return reader.Fail(mark, key_path, QuotePath(path) + " is not a regular file");
  }
  std::string_view value = text::Trim(raw);
  if (value.empty()) return reader.Fail(mark, key_path, QuotePath(path) + " is empty");
  for (char c : value) {
    if (text::IsControl(c)) {
      return reader.Fail(
          mark, key_path,
          QuotePath(path) + " holds control characters, which cannot be sent in an HTTP header");
    }
  }
  *out = std::string(value);
  return true;
}

bool ResolveCredentials(const CredentialSources& sources, EnvLookup env, YamlReader& reader,
                        Config* config) {
  return ResolveCredential(sources.api_id_file, sources.api_mark, sources.api_path, env,
                           "CREATIFY_API_ID", "API ID", "api_id_file", reader, &config->api_id) &&
         ResolveCredential(sources.api_key_file, sources.api_mark, sources.api_path, env,
                           "CREATIFY_API_KEY", "API key", "api_key_file", reader, &config->api_key);
}

}  // namespace config
