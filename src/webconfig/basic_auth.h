// HTTP basic auth against the web config's bcrypt hashes. The hashing is libcrypt's crypt_r;
// BasicAuth adds what makes it safe to expose: a failed check costs one bcrypt of the same cost
// whether or not the user exists, results are compared in constant time, and a success is
// remembered so that a scraper that was let in once is answered by Recall, without a bcrypt and
// without waiting behind others' failures. BasicAuth is thread-safe (Check may run on several
// threads at once); the free functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace webconfig {

struct Credentials {
  std::string user;
  std::string password;
};

// The user and password of an Authorization header value "Basic <base64(user:password)>" (the
// scheme in any case, the standard base64 alphabet with its padding). nullopt for any other
// scheme, bad base64, or no ':' in the decoded text.
std::optional<Credentials> ParseBasicAuthorization(std::string_view header);

// A bcrypt hash as crypt(3) and exporter-toolkit write it: $2a$, $2b$ or $2y$, a two-digit cost
// from 04 to 31, '$', then 53 characters of ./A-Za-z0-9 (the salt and the hash).
bool IsBcryptHash(std::string_view hash);

// The bcrypt cost of a hash IsBcryptHash accepts.
int BcryptCost(std::string_view hash);

// crypt(3): `password` hashed with the algorithm, cost and salt of `setting`; nullopt when the
// setting is not one libcrypt can use. Hasher is its type, so that tests can count the calls.
using Hasher = std::function<std::optional<std::string>(const std::string& password,
                                                        const std::string& setting)>;
std::optional<std::string> Crypt(const std::string& password, const std::string& setting);

class BasicAuth {
 public:
  // `users`: user name -> bcrypt hash (IsBcryptHash). `hasher` is Crypt except in tests.
  explicit BasicAuth(std::map<std::string, std::string, std::less<>> users, Hasher hasher = Crypt);

  // Whether an Authorization header value ("" when there is none) lets a user in: Recall, then
  // Check when Recall cannot tell.
  bool Authorize(std::string_view authorization);

  // The answer when it is known without a bcrypt: true for the password last let in for its user,
  // false for a header that is not basic auth at all; nullopt otherwise. Quick (an HMAC).
  std::optional<bool> Recall(std::string_view authorization) const;

  // The full check (one bcrypt, ~50-100 ms at cost 10); remembers a success for Recall.
  bool Check(std::string_view authorization);

  // The users it checks, and their hashes.
  const std::map<std::string, std::string, std::less<>>& users() const { return users_; }

  // The hash checked for a user who is not configured: as costly as the costliest configured
  // hash, and matching no password.
  const std::string& dummy_hash() const { return dummy_hash_; }

 private:
  using Digest = std::array<std::uint8_t, 32>;

  Digest Remembered(std::string_view user, std::string_view password) const;

  const std::map<std::string, std::string, std::less<>> users_;
  const Hasher hasher_;
  const std::string dummy_hash_;
  // Keys the digests of remembered successes; random per process.
  std::array<std::uint8_t, 32> key_{};

  mutable std::mutex remembered_mu_;
  // The keyed digest of the password last let in, per user: at most one entry per configured
  // user, so it cannot grow.
  std::map<std::string, Digest, std::less<>> remembered_;  // guarded by remembered_mu_
};

}  // namespace webconfig
