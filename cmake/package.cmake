# The Debian package (`make package`, CPack's DEB generator): rtctl in /usr/bin, its
# man page rtctl(1) and bash completion (both generated from the built rtctl, so
# they never drift from the CLI), the systemd units of examples/systemd adapted to
# the package (rtctl in /usr/bin, the system user rt), /etc/rt/cluster.json as a
# conffile (examples/local-cluster.json, which validates), /var/lib/rt, and the
# maintainer script packaging/debian/postinst (creates the user; never starts
# units). docs/operations.md "Installing the Debian package" says what lintian still
# reports and why.
#
# Installing and packaging do not build `all` first (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY):
# `make package` builds only rtctl and the generated files in its Release tree, and
# the package test runs cpack on a built tree while other tests run.

set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# A valid Debian version, native (no revision): 0.1+git0123456789ab.
set(RT_PACKAGE_VERSION ${PROJECT_VERSION})
if(NOT RT_GIT_REVISION STREQUAL "unknown")
  string(APPEND RT_PACKAGE_VERSION "+git${RT_GIT_REVISION}")
endif()
# The Maintainer field and changelog signature; a distributor sets their own.
set(RT_PACKAGE_CONTACT "rt developers <rt-dev@example.org>" CACHE STRING
    "Maintainer of the Debian package: Name <address>")

set(pkg_dir ${PROJECT_BINARY_DIR}/package)
file(MAKE_DIRECTORY ${pkg_dir})

# rtctl(1) by help2man, from `rtctl --help`, `--version` and every subcommand's help.
find_program(RT_HELP2MAN help2man)
find_program(RT_GZIP gzip REQUIRED)
if(RT_HELP2MAN)
  add_custom_command(
    OUTPUT ${pkg_dir}/rtctl.1.gz
    COMMAND ${CMAKE_COMMAND} -DRTCTL=$<TARGET_FILE:rtctl> -DHELP2MAN=${RT_HELP2MAN}
            -DGZIP=${RT_GZIP} -DOUT=${pkg_dir}/rtctl.1
            -P ${PROJECT_SOURCE_DIR}/cmake/gen_man_page.cmake
    DEPENDS rtctl ${PROJECT_SOURCE_DIR}/cmake/gen_man_page.cmake
    COMMENT "Generating the man page rtctl(1) with help2man"
    VERBATIM)
  set(rt_man_page ${pkg_dir}/rtctl.1.gz)
else()
  message(STATUS "help2man not found: no man page (scripts/install-deps.sh installs it)")
  set(rt_man_page "")
endif()

# The bash completion, from the hidden `rtctl completion bash` (cli/bash_completion.h).
add_custom_command(
  OUTPUT ${pkg_dir}/rtctl.bash-completion
  COMMAND rtctl completion bash > ${pkg_dir}/rtctl.bash-completion
  DEPENDS rtctl
  COMMENT "Generating the bash completion of rtctl"
  VERBATIM)

# The packaged units: examples/systemd with rtctl in /usr/bin, the user rt.
set(rt_units "")
foreach(unit rt-api@.service rt-worker@.service)
  add_custom_command(
    OUTPUT ${pkg_dir}/${unit}
    COMMAND ${CMAKE_COMMAND} -DIN=${PROJECT_SOURCE_DIR}/examples/systemd/${unit}
            -DOUT=${pkg_dir}/${unit} -P ${PROJECT_SOURCE_DIR}/cmake/gen_packaged_unit.cmake
    DEPENDS ${PROJECT_SOURCE_DIR}/examples/systemd/${unit}
            ${PROJECT_SOURCE_DIR}/cmake/gen_packaged_unit.cmake
    VERBATIM)
  list(APPEND rt_units ${pkg_dir}/${unit})
endforeach()

# The Debian changelog, dated by the commit (so that a rebuild of one revision gives
# the same file), gzipped as lintian wants it.
execute_process(COMMAND git log -1 --format=%cD
                WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                OUTPUT_VARIABLE RT_CHANGELOG_DATE OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rt_date_result ERROR_QUIET)
if(NOT rt_date_result EQUAL 0 OR RT_CHANGELOG_DATE STREQUAL "")
  string(TIMESTAMP RT_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in ${pkg_dir}/changelog @ONLY)
add_custom_command(
  OUTPUT ${pkg_dir}/changelog.gz
  COMMAND ${RT_GZIP} -9nkf ${pkg_dir}/changelog
  DEPENDS ${pkg_dir}/changelog
  VERBATIM)

add_custom_target(rt_package_files ALL
  DEPENDS ${rt_man_page} ${pkg_dir}/rtctl.bash-completion ${rt_units} ${pkg_dir}/changelog.gz)

# What the package holds. Absolute destinations are the system's own places.
install(TARGETS rtctl RUNTIME DESTINATION bin)
if(rt_man_page)
  install(FILES ${rt_man_page} DESTINATION share/man/man1)
endif()
install(FILES ${pkg_dir}/rtctl.bash-completion DESTINATION share/bash-completion/completions
        RENAME rtctl)
install(FILES ${pkg_dir}/changelog.gz ${PROJECT_SOURCE_DIR}/packaging/debian/copyright
        ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/rt)
install(FILES ${rt_units} DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/examples/local-cluster.json DESTINATION /etc/rt
        RENAME cluster.json)
install(DIRECTORY DESTINATION /var/lib/rt)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rt)
set(CPACK_PACKAGE_VERSION ${RT_PACKAGE_VERSION})
set(CPACK_PACKAGE_CONTACT ${RT_PACKAGE_CONTACT})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # rt_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost.localdomain/rt")
# CPack makes the summary the synopsis line, then the description the extended one.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed click and impression analytics service")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "rt counts clicks, impressions and exact unique users per hour. API nodes\n\
accept events over HTTP and forward them in batches, exactly once, to\n\
worker nodes that keep them in Kyoto Cabinet databases. The one program,\n\
rtctl, runs either kind of node and checks, queries and simulates a cluster.\n\
The systemd units rt-api@ and rt-worker@ are installed but not enabled.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")  # postinst; shlibdeps adds the libraries
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
