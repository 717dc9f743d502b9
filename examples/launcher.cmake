# Smoke tests of the local-cluster launcher and the systemd units; included from
# examples/CMakeLists.txt. They check syntax and arguments only: starting the cluster is what
# `make run` and the integration tests do.
add_test(NAME "example: run-local-cluster.sh parses (bash -n)"
         COMMAND bash -n ${CMAKE_CURRENT_SOURCE_DIR}/run-local-cluster.sh)
add_test(NAME "example: run-local-cluster.sh without arguments is a usage error"
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/run-local-cluster.sh)
set_tests_properties("example: run-local-cluster.sh without arguments is a usage error"
                     PROPERTIES WILL_FAIL TRUE)

find_program(RT_SHELLCHECK shellcheck)
if(RT_SHELLCHECK)
  add_test(NAME "example: run-local-cluster.sh passes shellcheck"
           COMMAND ${RT_SHELLCHECK} ${CMAKE_CURRENT_SOURCE_DIR}/run-local-cluster.sh)
endif()

find_program(RT_SYSTEMD_ANALYZE systemd-analyze)
if(RT_SYSTEMD_ANALYZE)
  foreach(unit rt-api@ rt-worker@)
    add_test(NAME "example: systemd/${unit}.service verifies"
             COMMAND ${CMAKE_COMMAND} -DSYSTEMD_ANALYZE=${RT_SYSTEMD_ANALYZE}
                     -DUNIT=${CMAKE_CURRENT_SOURCE_DIR}/systemd/${unit}.service
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/systemd/verify-unit.cmake)
  endforeach()
endif()

# The port overrides are checked before anything starts (exit 2). Starting the
# cluster on free ports, SIGINT and a second run are the integration tests
# "integration:the make run launcher ..." (tests/integration/e2e_make_run_test.cpp).
add_test(NAME "example: run-local-cluster.sh refuses RT_WORKER_PORTS without two ports"
         COMMAND ${CMAKE_COMMAND} -E env RT_WORKER_PORTS=9000 RT_RUN_DIR=${CMAKE_CURRENT_BINARY_DIR}/run
                 ${CMAKE_CURRENT_SOURCE_DIR}/run-local-cluster.sh $<TARGET_FILE:rtctl>)
set_tests_properties("example: run-local-cluster.sh refuses RT_WORKER_PORTS without two ports"
                     PROPERTIES PASS_REGULAR_EXPRESSION "RT_WORKER_PORTS needs exactly two ports")
