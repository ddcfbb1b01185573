// Captures what a piece of code writes to stderr (where the logs go), for tests of log lines.
// Not thread-safe: nothing else may write to or redirect stderr meanwhile.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

namespace testsupport {

// Runs `body` with file descriptor 2 redirected to a temporary file; returns what was written.
inline std::string CaptureStderr(const std::function<void()>& body) {
  std::fflush(stderr);
  FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  const int saved = ::dup(2);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(::fileno(capture), 2) >= 0);
  body();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::string text;
  std::rewind(capture);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, capture)) > 0;) text.append(buf, n);
  std::fclose(capture);
  return text;
}

}  // namespace testsupport
