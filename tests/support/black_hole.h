// A loopback port whose accept queue is full, for tests of an API that cannot be reached.
// Header-only; not thread-safe.
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace testsupport {

// A loopback port whose accept queue is full: a connect to it neither succeeds nor is refused,
// it waits (the kernel drops the SYNs), like an API behind a black-holing firewall.
class BlackHole {
 public:
  BlackHole() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener_, 0) == 0);
    socklen_t length = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    for (int i = 0; i < 3; ++i) {
      int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
      fillers_.push_back(filler);
    }
    baseline_ = Connecting();
  }
  ~BlackHole() {
    for (int filler : fillers_) close(filler);
    close(listener_);
  }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  int port() const { return port_; }

  // Connections to the port still connecting (SYN_SENT), from /proc/net/tcp.
  int Connecting() const {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);
    int count = 0;
    char wanted[8];
    std::snprintf(wanted, sizeof wanted, "%04X", port_);
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "02" && remote.size() > 5 && remote.substr(remote.size() - 4) == wanted) {
        ++count;
      }
    }
    return count;
  }

  // Whether someone besides the fillers is connecting now.
  bool SomeoneConnecting() const { return Connecting() > baseline_; }

 private:
  int listener_ = -1;
  int port_ = 0;
  int baseline_ = 0;
  std::vector<int> fillers_;
};

}  // namespace testsupport
