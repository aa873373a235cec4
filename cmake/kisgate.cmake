include(GoogleTest)

# kisgate_module(NAME SOURCES ... DEPS ...): one library per src/<module>, includes rooted at src/.
function(kisgate_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(kisgate_${name} STATIC ${ARG_SOURCES})
  target_include_directories(kisgate_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kisgate_${name} PUBLIC ${ARG_DEPS})
endfunction()

# kisgate_test(NAME SOURCES ... DEPS ... [TIMEOUT s] [LABELS ...]): one GoogleTest binary whose
# test cases are registered with ctest one by one, as "<NAME>.<Suite>.<Case>" (so -R <NAME> selects
# the binary's cases and ctest -j runs cases of one binary side by side).
# Labels: "unit" for the tests beside the code in src/<module>/, "integration" for tests/integration;
# tests named in KISGATE_THREADED_TESTS (the top-level CMakeLists) also get "threads".
# TIMEOUT is per case (default 60 s).
function(kisgate_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE KISGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  if(dir MATCHES "^src/")
    list(APPEND ARG_LABELS unit)
  elseif(dir MATCHES "^tests/integration")
    list(APPEND ARG_LABELS integration)
  endif()
  if(name IN_LIST KISGATE_THREADED_TESTS)
    list(APPEND ARG_LABELS threads)
  endif()
  # The case list is read when ctest runs (PRE_TEST), not at build time: under the sanitizers a
  # build would otherwise start every test binary once more.
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}."
    EXTRA_ARGS --gtest_color=no
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    TEST_LIST ${name}_TESTS
    PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  # Labels from a ctest script of our own, run after the discovery's: CMake 3.25 splits a list
  # given in PROPERTIES (LABELS "unit;threads" would set a property named "threads").
  set(labels_script ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
  file(WRITE ${labels_script}
       "if(${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"${ARG_LABELS}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_script})
endfunction()
