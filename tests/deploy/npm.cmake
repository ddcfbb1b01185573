# The npm packages the deploy checks use (schemas, Dockerfile linter, YAML parser), pinned in
# package-lock.json beside this file.
#
# include()d from a CMakeLists.txt: registers the CTest fixture `deploy_node_modules` once.
# Run with `cmake -P`: installs the packages with `npm ci` when node_modules is missing or older
# than the lock file, so that a plain `ctest` works on a fresh clone.
set(_deploy_dir ${CMAKE_CURRENT_LIST_DIR})

if(CMAKE_SCRIPT_MODE_FILE)
  set(_marker ${_deploy_dir}/node_modules/.package-lock.json)
  if(EXISTS ${_marker} AND NOT ${_deploy_dir}/package-lock.json IS_NEWER_THAN ${_marker})
    return()
  endif()
  find_program(NPM npm REQUIRED)
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                  WORKING_DIRECTORY ${_deploy_dir} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "npm ci in ${_deploy_dir} failed (${_rc})")
  endif()
  return()
endif()

# Once for the whole project: if(TEST) only sees the current directory's tests.
get_property(_registered GLOBAL PROPERTY CREATIFY_DEPLOY_NPM_CI)
if(NOT _registered)
  set_property(GLOBAL PROPERTY CREATIFY_DEPLOY_NPM_CI TRUE)
  add_test(NAME deploy/npm-ci COMMAND ${CMAKE_COMMAND} -P ${CMAKE_CURRENT_LIST_FILE})
  set_tests_properties(deploy/npm-ci PROPERTIES FIXTURES_SETUP deploy_node_modules)
endif()
