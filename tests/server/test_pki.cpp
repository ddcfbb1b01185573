#include "server/test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "support/raw_client.h"

namespace testpki {
namespace {

struct Deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL: ") + what);
}

std::string ToPem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string ToPem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(extension != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

struct Issued {
  Owned<X509> cert;
  Owned<EVP_PKEY> key;
};

// A certificate for `name`, signed by `issuer` (self-signed when null).
Issued Issue(const char* name, const Issued* issuer, bool ca, const char* alt_names) {
  static long serial = 1;
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  Check(out.key != nullptr, "EVP_EC_gen");
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509_set_pubkey(cert, out.key.get());
  AddExtension(cert, issuer_cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (ca) AddExtension(cert, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (alt_names != nullptr) AddExtension(cert, issuer_cert, NID_subject_alt_name, alt_names);
  EVP_PKEY* signer = issuer ? issuer->key.get() : out.key.get();
  Check(X509_sign(cert, signer, EVP_sha256()) > 0, "X509_sign");
  return out;
}

Pem ToPem(const Issued& issued) { return {ToPem(issued.cert.get()), ToPem(issued.key.get())}; }

Owned<X509> ReadCert(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Owned<EVP_PKEY> ReadKey(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

Pki Make() {
  Issued ca = Issue("creatify test CA", nullptr, true, nullptr);
  Issued server = Issue("localhost", &ca, false, "DNS:localhost,IP:127.0.0.1");
  Issued client = Issue("scraper", &ca, false, nullptr);
  Issued other_ca = Issue("another CA", nullptr, true, nullptr);
  Issued stranger = Issue("stranger", &other_ca, false, nullptr);
  return {ToPem(ca), ToPem(server), ToPem(client), ToPem(stranger)};
}

TlsResult Exchange(int port, const TlsOptions& options, const std::string& request) {
  TlsResult result;
  Owned<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  Check(ctx != nullptr, "SSL_CTX_new");
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
  auto ca = ReadCert(options.trusted_ca);
  Check(ca != nullptr, "the trusted CA");
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (options.client != nullptr) {
    auto cert = ReadCert(options.client->cert);
    auto key = ReadKey(options.client->key);
    Check(SSL_CTX_use_certificate(ctx.get(), cert.get()) == 1, "client certificate");
    Check(SSL_CTX_use_PrivateKey(ctx.get(), key.get()) == 1, "client key");
  }
  rawclient::Connection connection(port);
  if (!connection.connected()) return result;
  int fd = connection.fd();
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  Owned<SSL> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set1_host(ssl.get(), "127.0.0.1");
  if (SSL_connect(ssl.get()) == 1) {
    result.handshake = true;
    size_t written = 0;
    if (SSL_write_ex(ssl.get(), request.data(), request.size(), &written) == 1) {
      char buffer[16384];
      size_t read = 0;
      while (SSL_read_ex(ssl.get(), buffer, sizeof(buffer), &read) == 1) {
        result.received.append(buffer, read);
      }
    }
  }
  ERR_clear_error();
  ssl.reset();
  if (result.received.starts_with("HTTP/1.1 ")) result.status = std::atoi(&result.received[9]);
  return result;
}

}  // namespace testpki
