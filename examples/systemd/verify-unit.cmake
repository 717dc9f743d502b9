# Runs `systemd-analyze verify` on an instance of a templated unit (UNIT), with
# rtctl's install path replaced by an existing executable so that only the unit
# itself is judged. Fails on any message.
get_filename_component(name "${UNIT}" NAME)
string(REPLACE "@.service" "@0.service" instance "${name}")
set(dir "${CMAKE_CURRENT_BINARY_DIR}/verify-unit-${name}")
file(MAKE_DIRECTORY "${dir}")
file(READ "${UNIT}" text)
string(REPLACE "/usr/local/bin/rtctl" "/bin/true" text "${text}")
file(WRITE "${dir}/${instance}" "${text}")
execute_process(COMMAND "${SYSTEMD_ANALYZE}" verify "${dir}/${instance}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
  message(FATAL_ERROR "systemd-analyze verify ${instance}: rc ${rc}\n${out}${err}")
endif()
