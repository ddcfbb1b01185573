# Stamps the binaries with the project version and the git revision they were built from. The
# revision is read at every build, not only when CMake configures: a binary rebuilt after a commit
# says the commit it was built from. version.h is rewritten only when its text changes, so an
# unchanged revision recompiles nothing.
add_custom_target(creatify_version
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${CMAKE_SOURCE_DIR} -DBINARY_DIR=${CMAKE_BINARY_DIR}
          -DPROJECT_VERSION=${PROJECT_VERSION} -P ${CMAKE_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${CMAKE_BINARY_DIR}/generated/version.h
  COMMENT "Reading the git revision"
  VERBATIM)
# The first configure writes it too, so that a target can include it before any build step ran.
set(SOURCE_DIR ${CMAKE_SOURCE_DIR})
set(BINARY_DIR ${CMAKE_BINARY_DIR})
include(${CMAKE_SOURCE_DIR}/cmake/write_version.cmake)
