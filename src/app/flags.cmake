# The exporter's command-line flags. Included from src/app/CMakeLists.txt (and from the tests, so
# that they build on their own); the guard makes a second include a no-op.
include_guard(GLOBAL)
add_library(creatify_flags STATIC ${CMAKE_CURRENT_LIST_DIR}/flags.cpp)
target_include_directories(creatify_flags PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_link_libraries(creatify_flags PUBLIC creatify_log)
