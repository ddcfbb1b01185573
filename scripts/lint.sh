#!/usr/bin/env bash
# Static analysis of src/: clang-tidy with the checks listed in .clang-tidy (any finding fails),
# then cppcheck's warning, performance and portability checks. clang-tidy reads the compile
# commands of a configured build: BUILD_DIR (default build-test, the one scripts/test.sh makes).
# A finding that is wrong is silenced where it stands, with NOLINT(check) or
# cppcheck-suppress, and a comment saying why.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build-test}
[[ -f $build/compile_commands.json ]] || {
  echo "$build/compile_commands.json is missing: configure that build first (scripts/test.sh)" >&2
  exit 1
}

echo "== clang-tidy on src/"
# "N warnings generated" counts the silenced ones of the system headers: not worth a line.
git ls-files 'src/*.cpp' | xargs -P"$(nproc)" -n 4 clang-tidy -p "$build" --quiet \
  2> >(grep -v ' warnings\? generated\.$' >&2)

echo "== cppcheck on src/"
# The generated version.h is included from the build; system headers are not analysed.
cppcheck --enable=warning,performance,portability --std=c++20 --inline-suppr --quiet \
  -j"$(nproc)" -I src -I "$build/generated" --suppress=missingIncludeSystem \
  --error-exitcode=1 src
