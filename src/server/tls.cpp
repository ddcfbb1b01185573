#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <map>

namespace server {
namespace {

// OpenSSL's reason for the last error (e.g. "no start line"), which names no file contents.
std::string LastError() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown error";
}

bool ParseVersion(const std::string& name, int* version) {
  static const std::map<std::string, int> kVersions = {{"TLS10", TLS1_VERSION},
                                                       {"TLS11", TLS1_1_VERSION},
                                                       {"TLS12", TLS1_2_VERSION},
                                                       {"TLS13", TLS1_3_VERSION}};
  auto it = kVersions.find(name);
  if (it == kVersions.end()) return false;
  *version = it->second;
  return true;
}

// The client certificate is asked for, but not checked against the client CAs.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// Which client certificate a client_auth_type asks for.
struct ClientAuth {
  bool request = false;
  bool require = false;
  bool verify = false;
};

bool ParseClientAuth(const std::string& type, ClientAuth* auth) {
  static const std::map<std::string, ClientAuth> kTypes = {
      {"", {}},
      {"NoClientCert", {}},
      {"RequestClientCert", {.request = true}},
      {"RequireAnyClientCert", {.request = true, .require = true}},
      {"VerifyClientCertIfGiven", {.request = true, .verify = true}},
      {"RequireAndVerifyClientCert", {.request = true, .require = true, .verify = true}}};
  auto it = kTypes.find(type);
  if (it == kTypes.end()) return false;
  *auth = it->second;
  return true;
}

class TlsTransport : public Transport {
 public:
  explicit TlsTransport(SSL* ssl) : ssl_(ssl) {}
  ~TlsTransport() override {
    // One try at a close_notify; the socket is closed right after, whatever it says.
    if (handshake_done_) SSL_shutdown(ssl_);
    SSL_free(ssl_);
    ERR_clear_error();
  }

  IoStatus Handshake() override {
    if (handshake_done_) return IoStatus::kOk;
    int result = SSL_accept(ssl_);
    if (result == 1) {
      handshake_done_ = true;
      return IoStatus::kOk;
    }
    return Classify(result);
  }

  IoResult Read(char* buffer, size_t size) override {
    size_t read = 0;
    int result = SSL_read_ex(ssl_, buffer, size, &read);
    if (result == 1) return {IoStatus::kOk, read};
    return {Classify(result), 0};
  }

  IoResult Write(const iovec* pieces, int count) override {
    size_t total = 0;
    for (int i = 0; i < count; ++i) {
      size_t written = 0;
      int result = SSL_write_ex(ssl_, pieces[i].iov_base, pieces[i].iov_len, &written);
      total += written;
      if (result != 1) {
        IoStatus status = Classify(result);
        if (status == IoStatus::kWouldBlock && total > 0) return {IoStatus::kOk, total};
        return {status, total};
      }
      if (written < pieces[i].iov_len) break;
    }
    return {IoStatus::kOk, total};
  }

 private:
  IoStatus Classify(int result) {
    int error = SSL_get_error(ssl_, result);
    ERR_clear_error();
    switch (error) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return IoStatus::kWouldBlock;
      case SSL_ERROR_ZERO_RETURN:
        return IoStatus::kClosed;
      default:
        // A failed handshake or a broken stream: no close_notify for it.
        handshake_done_ = false;
        return IoStatus::kError;
    }
  }

  SSL* ssl_;
  bool handshake_done_ = false;
};

}  // namespace

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  ~Impl() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::~TlsContext() = default;

std::unique_ptr<TlsContext> TlsContext::Create(const TlsOptions& options, std::string* error) {
  ERR_clear_error();
  int min_version = TLS1_2_VERSION;
  int max_version = 0;
  if (!options.min_version.empty() && !ParseVersion(options.min_version, &min_version)) {
    *error = "unknown TLS min_version \"" + options.min_version + "\" (TLS10, TLS11, TLS12, TLS13)";
    return nullptr;
  }
  if (!options.max_version.empty() && !ParseVersion(options.max_version, &max_version)) {
    *error = "unknown TLS max_version \"" + options.max_version + "\" (TLS10, TLS11, TLS12, TLS13)";
    return nullptr;
  }
  if (max_version != 0 && max_version < min_version) {
    *error = "TLS max_version " + options.max_version + " is below min_version " +
             (options.min_version.empty() ? std::string("TLS12") : options.min_version);
    return nullptr;
  }
  ClientAuth auth;
  if (!ParseClientAuth(options.client_auth_type, &auth)) {
    *error = "unknown client_auth_type \"" + options.client_auth_type +
             "\" (NoClientCert, RequestClientCert, RequireAnyClientCert, "
             "VerifyClientCertIfGiven, RequireAndVerifyClientCert)";
    return nullptr;
  }
  if (auth.verify && options.client_ca_file.empty()) {
    *error = "client_auth_type " + options.client_auth_type + " needs a client_ca_file";
    return nullptr;
  }
  if (options.cert_file.empty() || options.key_file.empty()) {
    *error = "TLS needs both a cert_file and a key_file";
    return nullptr;
  }

  auto impl = std::make_unique<Impl>();
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (impl->ctx == nullptr) {
    *error = "cannot set up TLS: " + LastError();
    return nullptr;
  }
  SSL_CTX* ctx = impl->ctx;
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    *error = "cannot use the TLS cert_file " + options.cert_file + ": " + LastError();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "cannot use the TLS key_file " + options.key_file + ": " + LastError();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = "the TLS key_file " + options.key_file + " does not match the cert_file " +
             options.cert_file;
    ERR_clear_error();
    return nullptr;
  }
  if (!options.client_ca_file.empty()) {
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      *error = "cannot use the TLS client_ca_file " + options.client_ca_file + ": " + LastError();
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  if (auth.request) {
    int mode = SSL_VERIFY_PEER | (auth.require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx, mode, auth.verify ? nullptr : AcceptAnyCertificate);
  }
  // Needed for resumed sessions once client certificates are asked for.
  static const unsigned char kSessionContext[] = "creatify-exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  ERR_clear_error();
  return std::unique_ptr<TlsContext>(new TlsContext(std::move(impl)));
}

std::unique_ptr<Transport> TlsContext::NewTransport(int fd) {
  SSL* ssl = SSL_new(impl_->ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    if (ssl != nullptr) SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  return std::make_unique<TlsTransport>(ssl);
}

}  // namespace server
