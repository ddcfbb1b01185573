#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

// A test client that writes to a server which has already closed the connection (a body cut off
// at its limit) gets EPIPE, as the exporter does, instead of dying of SIGPIPE.
int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return doctest::Context(argc, argv).run();
}
