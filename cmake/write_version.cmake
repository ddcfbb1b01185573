# Writes BINARY_DIR/generated/version.h from src/version.h.in with PROJECT_VERSION and the git
# revision of SOURCE_DIR ("unknown" outside a git checkout). Run by cmake/version.cmake, at
# configure time and, as `cmake -P`, at every build.
execute_process(
  COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE CREATIFY_REVISION
  OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET)
if(NOT CREATIFY_REVISION)
  set(CREATIFY_REVISION "unknown")
endif()
# configure_file leaves the file alone when its text would not change.
configure_file(${SOURCE_DIR}/src/version.h.in ${BINARY_DIR}/generated/version.h @ONLY)
