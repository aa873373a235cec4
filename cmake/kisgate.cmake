include(GoogleTest)

# kisgate_module(NAME SOURCES ... DEPS ...): one library per src/<module>, includes rooted at src/.
function(kisgate_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(kisgate_${name} STATIC ${ARG_SOURCES})
  target_include_directories(kisgate_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kisgate_${name} PUBLIC ${ARG_DEPS})
endfunction()

# kisgate_test_code(TARGET): test code (the test binaries, tests/support, the fuzz corpus replays)
# is compiled without optimisation whatever the build type: it is built once per change and runs
# for seconds, and -O0 compiles its GoogleTest and Asio templates in about two thirds of the CPU
# time of -O2 (gate_test: 24 s, 15 s). The code under test keeps the build type's flags.
function(kisgate_test_code target)
  target_compile_options(${target} PRIVATE -O0)
endfunction()

# kisgate_test(NAME SOURCES ... DEPS ... [TIMEOUT s] [LABELS ...]): one GoogleTest binary whose
# test cases are registered with ctest one by one, as "<NAME>.<Suite>.<Case>" (so -R <NAME> selects
# the binary's cases and ctest -j runs cases of one binary side by side).
# Labels say what a test needs, beside it in its CMakeLists:
#   threads          it runs code on more than one thread (a server on its own thread, the store's
#                    writer): `make test TSAN=1` builds and runs these (target threaded_tests);
#   parsers          it feeds input from outside (KIS replies and frames, HTTP requests, config
#                    files, simulator requests, JSON) to the code that parses it: `make test
#                    SANITIZE=1` builds and runs these and the matching fuzz corpus replays under
#                    ASan and UBSan (target sanitized_tests);
#   redis, postgres  it starts a redis-server or a PostgreSQL server of its own;
#   integration      several modules over real sockets.
# A test under src/ that names none of redis, postgres or integration is "unit"; one under
# tests/integration is "integration".
# TIMEOUT is per case (default 60 s).
function(kisgate_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE KISGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  kisgate_test_code(${name})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  file(RELATIVE_PATH dir ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  set(kind_labels redis postgres integration)
  set(has_kind OFF)
  foreach(label ${ARG_LABELS})
    if(label IN_LIST kind_labels)
      set(has_kind ON)
    endif()
  endforeach()
  if(dir MATCHES "^src/" AND NOT has_kind)
    list(APPEND ARG_LABELS unit)
  elseif(dir MATCHES "^tests/integration" AND NOT "integration" IN_LIST ARG_LABELS)
    list(APPEND ARG_LABELS integration)
  endif()
  if("threads" IN_LIST ARG_LABELS)
    kisgate_threaded_test(${name})
  endif()
  if("parsers" IN_LIST ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY KISGATE_PARSER_TESTS ${name})
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

# kisgate_threaded_test(TARGET): a test binary labelled threads, for the target threaded_tests
# (the top-level CMakeLists defines it from this list once every directory is read).
function(kisgate_threaded_test target)
  set_property(GLOBAL APPEND PROPERTY KISGATE_THREADED_TESTS ${target})
endfunction()
