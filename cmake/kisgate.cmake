# kisgate_module(NAME SOURCES ... DEPS ...): one library per src/<module>, includes rooted at src/.
function(kisgate_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(kisgate_${name} STATIC ${ARG_SOURCES})
  target_include_directories(kisgate_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kisgate_${name} PUBLIC ${ARG_DEPS})
endfunction()

# kisgate_test(NAME SOURCES ... DEPS ... [LABELS ...]): one GoogleTest binary registered with ctest.
# Tests named in KISGATE_THREADED_TESTS (the top-level CMakeLists) get the label "threads".
function(kisgate_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE KISGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  # Test binaries are registered whole (not per test case) so that ctest starts few processes.
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  if(name IN_LIST KISGATE_THREADED_TESTS)
    list(APPEND ARG_LABELS threads)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()
