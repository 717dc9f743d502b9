# Runs `rtctl validate-config` and checks its exit code and output; used by the
# example tests in CMakeLists.txt:
#   cmake -DRTCTL=path -DARGS="FILE --against OLD" -DEXPECT_RC=1
#         [-DEXPECT_TEXT=substring] [-DEXPECT_TEXT2=substring]
#         [-DEXPECT_STDOUT_START=prefix] -P check-validate.cmake
# EXPECT_TEXT* are plain substrings of stdout + stderr (no regex, so brackets and
# quotes need no escaping).
separate_arguments(args UNIX_COMMAND "${ARGS}")
# --against asks OLD's workers (signed requests): a worker key is needed, any one
# will do for workers that are not running.
execute_process(COMMAND "${CMAKE_COMMAND}" -E env
                        RT_WORKER_KEY=0000000000000000000000000000000000000000000000000000000000000000
                        "${RTCTL}" validate-config ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT rc STREQUAL EXPECT_RC)
  message(FATAL_ERROR "expected exit code ${EXPECT_RC}, got ${rc}\n--- stdout\n${out}--- stderr\n${err}")
endif()
# EXPECT_STDOUT_START: stdout must begin with this (the line that leads).
if(DEFINED EXPECT_STDOUT_START)
  string(FIND "${out}" "${EXPECT_STDOUT_START}" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "stdout does not start with \"${EXPECT_STDOUT_START}\"\n--- stdout\n${out}--- stderr\n${err}")
  endif()
endif()
foreach(var EXPECT_TEXT EXPECT_TEXT2)
  if(DEFINED ${var})
    string(FIND "${all}" "${${var}}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "output lacks \"${${var}}\"\n--- stdout\n${out}--- stderr\n${err}")
    endif()
  endif()
endforeach()
