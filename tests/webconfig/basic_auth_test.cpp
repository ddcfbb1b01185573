// Basic auth: the header's parsing, the bcrypt hashes libcrypt checks, and the rules that make a
// failure cost the same whether or not the user exists, proved by counting the hashes computed
// rather than by timing them.
#include "webconfig/basic_auth.h"

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using webconfig::BasicAuth;
using webconfig::ParseBasicAuthorization;

// Cost 4 and 5 (the lowest), so that the tests run fast; made with crypt_gensalt and crypt_r.
constexpr const char* kAliceHash = "$2y$04$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2";
constexpr const char* kBobHash = "$2b$05$Ifbup0x76y1so7v87//zPOnX.Gn.fsXK/CP0ohyi3Zf2Aen/oImTK";
constexpr const char* kCarolHash = "$2a$04$FDfcHiSNOO5wzMI72ukApeo5lR6J.yjuMtxI9RZbZlB57ZnT8V5TC";

// "Basic base64(user:password)", encoded by cpp-httplib: an encoder other than the decoder.
std::string Header(const std::string& user, const std::string& password) {
  return httplib::make_basic_authentication_header(user, password).second;
}

// Crypt, counting its calls and remembering the settings it was given.
struct CountingHasher {
  std::atomic<int> calls{0};
  std::vector<std::string> settings;

  webconfig::Hasher Get() {
    return [this](const std::string& password, const std::string& setting) {
      ++calls;
      settings.push_back(setting);
      return webconfig::Crypt(password, setting);
    };
  }
};

using UserHashes = std::map<std::string, std::string, std::less<>>;

UserHashes Users() { return {{"alice", kAliceHash}, {"bob", kBobHash}, {"carol", kCarolHash}}; }

}  // namespace

TEST_CASE("an Authorization header gives its user and password") {
  auto credentials = ParseBasicAuthorization("Basic dXNlcjpwYXNz");
  REQUIRE(credentials);
  CHECK(credentials->user == "user");
  CHECK(credentials->password == "pass");

  // The scheme in any case, spaces around, more than one space before the token.
  credentials = ParseBasicAuthorization("  bAsIc   dXNlcjpwYXNz  ");
  REQUIRE(credentials);
  CHECK(credentials->user == "user");

  // The password runs to the end: it may hold ':'; it may be empty.
  credentials = ParseBasicAuthorization(Header("da", "pa:ss"));
  REQUIRE(credentials);
  CHECK(credentials->user == "da");
  CHECK(credentials->password == "pa:ss");
  credentials = ParseBasicAuthorization(Header("user", ""));
  REQUIRE(credentials);
  CHECK(credentials->password.empty());
  credentials = ParseBasicAuthorization(Header("", "x"));
  REQUIRE(credentials);
  CHECK(credentials->user.empty());

  // Any byte, NUL and UTF-8 included, survives decoding.
  credentials = ParseBasicAuthorization(Header("j\xc3\xb6rg", std::string("a\0b", 3)));
  REQUIRE(credentials);
  CHECK(credentials->user == "j\xc3\xb6rg");
  CHECK(credentials->password == std::string("a\0b", 3));
}

TEST_CASE("a malformed Authorization header gives no credentials") {
  for (const char* header : {
           "", "Basic", "Basic ", "Basicd XNlcjpwYXNz", "BasicdXNlcjpwYXNz", "Bearer dXNlcjpwYXNz",
           "Digest username=\"user\"",
           "Basic dXNlcg==",       // "user": no ':'
           "Basic dXNlcjpwYXNz=",  // a length that is not a multiple of 4
           "Basic dXNlcjpwYXN",    // unpadded
           "Basic dXNl*jpwYXNz",   // not the alphabet
           "Basic dX==cjpwYXNz",   // padding in the middle
           "Basic dXNlcjpwYX=z",   // a character after padding
           "Basic dXNlcjpwY===",   // three padding characters
           "Basic dXNlcjp-YXNz",   // the URL-safe alphabet
           "Basic dXNlcjpw YXNz",  // a space inside the token
       }) {
    CAPTURE(header);
    CHECK_FALSE(ParseBasicAuthorization(header).has_value());
  }
}

TEST_CASE("bcrypt hashes in the forms exporter-toolkit and htpasswd write are recognised") {
  CHECK(webconfig::IsBcryptHash(kAliceHash));
  CHECK(webconfig::IsBcryptHash(kBobHash));
  CHECK(webconfig::IsBcryptHash(kCarolHash));
  CHECK(webconfig::BcryptCost(kAliceHash) == 4);
  CHECK(webconfig::BcryptCost(kBobHash) == 5);
  for (const char* hash : {
           "",
           "password",
           "$2x$04$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2",   // buggy-variant $2x$
           "$2y$03$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2",   // cost below 4
           "$2y$32$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2",   // cost above 31
           "$2y$4$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2",    // one-digit cost
           "$2y$04$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/",    // one short
           "$2y$04$AqZvftpFj2kaaJ5.dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/22",  // one long
           "$2y$04$AqZvftpFj2kaaJ5+dMiET.cRaTwpuP9vJwzakJbrUer3In83bLn/2",   // '+' is not bcrypt's
           "$6$salt$K4v3HcZ8yAmpRfxML6S46NCcqy9r4/KdbQpFvqSWsBf4dgySOEOo1DHJTrmn2BsJK2aNm",
           "$1$abcdefgh$ABCDEFGHIJKLMNOPQRSTUV",
       }) {
    CAPTURE(hash);
    CHECK_FALSE(webconfig::IsBcryptHash(hash));
  }
}

TEST_CASE("libcrypt checks the bcrypt hashes Go's bcrypt writes") {
  // exporter-toolkit's own dummy hash, of "fakepassword", written by golang.org/x/crypto/bcrypt.
  const std::string go_hash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
  CHECK(webconfig::Crypt("fakepassword", go_hash) == go_hash);
  CHECK(webconfig::Crypt("fakepassworD", go_hash) != go_hash);
  CHECK(webconfig::Crypt("alice-password", kAliceHash) == std::string(kAliceHash));
  CHECK(webconfig::Crypt("bob-password", kBobHash) == std::string(kBobHash));
  CHECK(webconfig::Crypt("carol-password", kCarolHash) == std::string(kCarolHash));
  // A setting libcrypt cannot use gives nothing, never a string to compare.
  CHECK_FALSE(webconfig::Crypt("x", "$2y$1$abc").has_value());
}

TEST_CASE("the right password lets a user in, any other does not") {
  CountingHasher hasher;
  BasicAuth auth(Users(), hasher.Get());
  CHECK(auth.Authorize(Header("alice", "alice-password")));
  CHECK(auth.Authorize(Header("bob", "bob-password")));
  CHECK(auth.Authorize(Header("carol", "carol-password")));
  CHECK_FALSE(auth.Authorize(Header("alice", "bob-password")));
  CHECK_FALSE(auth.Authorize(Header("alice", "alice-passwor")));
  CHECK_FALSE(auth.Authorize(Header("alice", "alice-password ")));
  CHECK_FALSE(auth.Authorize(Header("Alice", "alice-password")));
  CHECK_FALSE(auth.Authorize(Header("alice", "")));
  CHECK_FALSE(auth.Authorize(Header("mallory", "alice-password")));
  CHECK_FALSE(auth.Authorize(""));
  CHECK_FALSE(auth.Authorize("Bearer alice-password"));
}

TEST_CASE("an unknown user costs one bcrypt of the configured cost, as a wrong password does") {
  CountingHasher hasher;
  BasicAuth auth(Users(), hasher.Get());
  // The costliest configured hash sets the dummy's cost (users should share one cost).
  CHECK(webconfig::IsBcryptHash(auth.dummy_hash()));
  CHECK(webconfig::BcryptCost(auth.dummy_hash()) == 5);

  CHECK_FALSE(auth.Authorize(Header("bob", "wrong")));
  CHECK(hasher.calls == 1);
  CHECK(hasher.settings.back() == kBobHash);

  CHECK_FALSE(auth.Authorize(Header("mallory", "wrong")));
  CHECK(hasher.calls == 2);
  CHECK(hasher.settings.back() == auth.dummy_hash());

  // libcrypt really computes the dummy's bcrypt (a setting it refused would return at once),
  // and no password matches it.
  auto result = webconfig::Crypt("wrong", auth.dummy_hash());
  REQUIRE(result.has_value());
  CHECK(result->substr(0, 29) == auth.dummy_hash().substr(0, 29));
  CHECK(*result != auth.dummy_hash());

  // Without credentials there is no user to hide: nothing is hashed.
  CHECK_FALSE(auth.Authorize(""));
  CHECK_FALSE(auth.Authorize("Basic !!!!"));
  CHECK(hasher.calls == 2);
}

TEST_CASE("a dummy hash takes the cost of one configured user") {
  BasicAuth auth(UserHashes{{"alice", kAliceHash}});
  CHECK(webconfig::BcryptCost(auth.dummy_hash()) == 4);
}

TEST_CASE("a password let in once is remembered, a failure never is") {
  CountingHasher hasher;
  BasicAuth auth(Users(), hasher.Get());
  CHECK(auth.Authorize(Header("alice", "alice-password")));
  CHECK(hasher.calls == 1);
  CHECK(auth.Authorize(Header("alice", "alice-password")));
  CHECK(auth.Authorize(Header("alice", "alice-password")));
  CHECK(hasher.calls == 1);

  // A wrong password after a success is checked, and fails.
  CHECK_FALSE(auth.Authorize(Header("alice", "alice-passwordX")));
  CHECK(hasher.calls == 2);
  // A remembered password is the user's own: another user with it is checked, and fails.
  CHECK_FALSE(auth.Authorize(Header("bob", "alice-password")));
  CHECK(hasher.calls == 3);
  // A failure is checked again each time.
  CHECK_FALSE(auth.Authorize(Header("bob", "wrong")));
  CHECK_FALSE(auth.Authorize(Header("bob", "wrong")));
  CHECK(hasher.calls == 5);
  // The success is still remembered.
  CHECK(auth.Authorize(Header("alice", "alice-password")));
  CHECK(hasher.calls == 5);
}

TEST_CASE("passwords bcrypt would cut are refused, after a bcrypt all the same") {
  const std::string long_password(72, 'x');
  const std::string hash = *webconfig::Crypt(long_password, "$2y$04$AqZvftpFj2kaaJ5.dMiET.");
  CountingHasher hasher;
  BasicAuth auth(UserHashes{{"dave", hash}}, hasher.Get());
  CHECK(auth.Authorize(Header("dave", long_password)));
  CHECK(hasher.calls == 1);
  // bcrypt reads 72 bytes: a 73rd would pass it unnoticed.
  CHECK_FALSE(auth.Authorize(Header("dave", long_password + "y")));
  CHECK(hasher.calls == 2);
  // crypt_r reads up to a NUL: what follows it would pass unnoticed.
  const std::string alice_with_nul = std::string("alice-password") + '\0' + "more";
  BasicAuth alice(UserHashes{{"alice", kAliceHash}}, hasher.Get());
  CHECK_FALSE(alice.Authorize(Header("alice", alice_with_nul)));
  CHECK(hasher.calls == 3);
  CHECK(alice.Authorize(Header("alice", "alice-password")));
}

TEST_CASE("checks from many threads at once agree") {
  BasicAuth auth(Users());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const bool right = (i + t) % 2 == 0;
        const bool ok = auth.Authorize(Header("alice", right ? "alice-password" : "nope"));
        if (ok != right) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong == 0);
}
