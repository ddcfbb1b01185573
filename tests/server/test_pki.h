// Certificates and keys made at test time with OpenSSL's API (no openssl command needed): a CA,
// a server certificate for 127.0.0.1 and localhost, and client certificates, valid for ten years.
// Also a small blocking TLS client. Not thread-safe.
#pragma once

#include <string>

namespace testpki {

struct Pem {
  std::string cert;
  std::string key;
};

struct Pki {
  Pem ca;
  Pem server;
  // Signed by `ca`.
  Pem client;
  // Signed by a CA the server does not know.
  Pem stranger;
};

Pki Make();

struct TlsOptions {
  // PEM of the CA the client trusts (the server's certificate is verified against it).
  std::string trusted_ca;
  // The client's certificate and key; none when empty.
  const Pem* client = nullptr;
  // 0: any; else e.g. TLS1_2_VERSION.
  int max_version = 0;
};

struct TlsResult {
  bool handshake = false;
  // Everything received until the server closed (or 5 s passed).
  std::string received;
  // The answer's status, 0 when none.
  int status = 0;
};

// Connects to 127.0.0.1:port over TLS, sends `request` and reads until the server closes.
TlsResult Exchange(int port, const TlsOptions& options, const std::string& request);

}  // namespace testpki
