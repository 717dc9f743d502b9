# Smoke tests of the local-cluster launcher and the systemd units; included from
# examples/CMakeLists.txt. They check syntax only: starting the cluster is what
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
