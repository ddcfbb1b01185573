// creatify-exporter: flags -> app::Run -> exit code.
#include <cstdio>

#include "app/app.h"
#include "app/flags.h"

int main(int argc, char** argv) {
  std::string error;
  auto flags = app::ParseFlags(argc, argv, &error);
  if (!flags) {
    std::fprintf(stderr, "creatify-exporter: %s\nSee 'creatify-exporter --help'.\n", error.c_str());
    return 2;
  }
  return app::Run(*flags);
}
