#include "webconfig/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <random>

#include "text/strings.h"

namespace webconfig {
namespace {

// bcrypt reads at most 72 bytes of a password. Like exporter-toolkit's bcrypt, a longer one is
// refused rather than cut, so that two passwords differing after byte 72 are not the same.
constexpr std::size_t kMaxPasswordBytes = 72;
// "$2b$10$": the variant, the cost, then the 22 characters of the salt and 31 of the hash.
constexpr std::size_t kBcryptPrefixBytes = 7;
constexpr std::size_t kBcryptSaltAndHashBytes = 53;
constexpr int kMinCost = 4;
constexpr int kMaxCost = 31;

bool IsBcryptChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with its padding (RFC 4648, section 4), as Go's base64.StdEncoding reads it.
std::optional<std::string> DecodeBase64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++padding;
        continue;
      }
      // A character after padding, or padding anywhere else, is malformed.
      if (padding > 0) return std::nullopt;
      v[j] = Base64Value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((bits >> 16) & 0xff));
    if (padding < 2) out.push_back(static_cast<char>((bits >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(bits & 0xff));
  }
  return out;
}

// The dummy's salt and hash, in bcrypt's characters: a password would have to hash to its last
// 31 characters (184 bits) to match it.
constexpr std::string_view kDummySaltAndHash =
    "ThisSaltIsNoUsersSaltOAndNoPasswordHashesToThis.Hash.";

std::string DummyHash(const std::map<std::string, std::string, std::less<>>& users) {
  int cost = 10;
  if (!users.empty()) {
    cost = kMinCost;
    for (const auto& [user, hash] : users) cost = std::max(cost, BcryptCost(hash));
  }
  std::string hash = "$2y$";
  hash += static_cast<char>('0' + cost / 10);
  hash += static_cast<char>('0' + cost % 10);
  hash += '$';
  hash += kDummySaltAndHash;
  return hash;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  // The lengths are not secret: every bcrypt result has the same length.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<Credentials> ParseBasicAuthorization(std::string_view header) {
  header = text::Trim(header);
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size() || text::Lower(header.substr(0, kScheme.size())) != kScheme ||
      header[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  auto decoded = DecodeBase64(token);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool IsBcryptHash(std::string_view hash) {
  if (hash.size() != kBcryptPrefixBytes + kBcryptSaltAndHashBytes) return false;
  const std::string_view variant = hash.substr(0, 4);
  if (variant != "$2a$" && variant != "$2b$" && variant != "$2y$") return false;
  const std::string_view cost = hash.substr(4, 2);
  if (!text::AllDigits(cost) || hash[6] != '$') return false;
  const int value = (cost[0] - '0') * 10 + (cost[1] - '0');
  if (value < kMinCost || value > kMaxCost) return false;
  return std::all_of(hash.begin() + kBcryptPrefixBytes, hash.end(), IsBcryptChar);
}

int BcryptCost(std::string_view hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

std::optional<std::string> Crypt(const std::string& password, const std::string& setting) {
  // crypt_data is large (32 KiB): on the heap rather than on a server thread's stack.
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_rn(password.c_str(), setting.c_str(), data.get(), sizeof *data);
  if (result == nullptr || result[0] == '*') return std::nullopt;
  return std::string(result);
}

BasicAuth::BasicAuth(std::map<std::string, std::string, std::less<>> users, Hasher hasher)
    : users_(std::move(users)), hasher_(std::move(hasher)), dummy_hash_(DummyHash(users_)) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
    // Without OpenSSL's generator the key still differs per process; it only has to keep the
    // remembered digests from being a fast way to test passwords.
    std::random_device random;
    for (auto& byte : key_) byte = static_cast<std::uint8_t>(random());
  }
}

BasicAuth::Digest BasicAuth::Remembered(std::string_view user, std::string_view password) const {
  // The user name's length first, so that ("ab", "c") and ("a", "bc") differ.
  std::string message = std::to_string(user.size()) + ":";
  message.append(user);
  message.append(password);
  Digest digest{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
       &size);
  return digest;
}

bool BasicAuth::Authorize(std::string_view authorization) {
  if (auto known = Recall(authorization)) return *known;
  return Check(authorization);
}

std::optional<bool> BasicAuth::Recall(std::string_view authorization) const {
  auto credentials = ParseBasicAuthorization(authorization);
  if (!credentials) return false;
  if (!users_.contains(credentials->user)) return std::nullopt;
  const Digest digest = Remembered(credentials->user, credentials->password);
  std::lock_guard lock(remembered_mu_);
  auto it = remembered_.find(credentials->user);
  if (it != remembered_.end() &&
      CRYPTO_memcmp(it->second.data(), digest.data(), digest.size()) == 0) {
    return true;
  }
  return std::nullopt;
}

bool BasicAuth::Check(std::string_view authorization) {
  auto credentials = ParseBasicAuthorization(authorization);
  if (!credentials) return false;
  const auto user = users_.find(credentials->user);
  const bool known = user != users_.end();
  const std::string& hash = known ? user->second : dummy_hash_;

  // Every failure goes through one bcrypt of the configured cost, the unknown user's included,
  // so that its time does not tell whether the user exists.
  const std::string& password = credentials->password;
  const bool acceptable =
      password.size() <= kMaxPasswordBytes && password.find('\0') == std::string::npos;
  const std::optional<std::string> result = hasher_(password.substr(0, kMaxPasswordBytes), hash);
  const bool match = result && ConstantTimeEqual(*result, hash);
  if (!(known && acceptable && match)) return false;

  const Digest digest = Remembered(credentials->user, credentials->password);
  std::lock_guard lock(remembered_mu_);
  remembered_[credentials->user] = digest;
  return true;
}

}  // namespace webconfig
