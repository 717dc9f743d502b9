# Writes rtctl(1) (OUT, and OUT.gz) with help2man (HELP2MAN) from RTCTL's own help:
# NAME, SYNOPSIS, DESCRIPTION and OPTIONS from `rtctl --help` and `--version`, and a
# SUBCOMMANDS section holding `rtctl SUB --help` of every subcommand that
# `rtctl --help` lists (through help2man's --include), so that the page never
# drifts from the CLI.
get_filename_component(dir "${OUT}" DIRECTORY)
set(include "${dir}/rtctl.h2m")

execute_process(COMMAND "${RTCTL}" --help OUTPUT_VARIABLE top RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "rtctl --help failed: ${rc}")
endif()
# The names under "Subcommands:", up to the next blank line (as scripts/check-docs.sh).
string(REGEX MATCH "Subcommands:\n([^\n]+\n)+" block "${top}")
string(REGEX MATCHALL "\n  *[a-z][a-z0-9-]*" names "${block}")

file(WRITE "${include}" "[SUBCOMMANDS]\nEach subcommand has its own options; \\fBrtctl\\fR \\fISUBCOMMAND\\fR \\fB--help\\fR prints them.\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  execute_process(COMMAND "${RTCTL}" ${name} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "rtctl ${name} --help failed: ${rc}")
  endif()
  # roff: a backslash is \e; a line may not start with . or ' (a request).
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  file(APPEND "${include}" ".SS \"rtctl ${name}\"\n.nf\n${help}.fi\n")
endforeach()
file(APPEND "${include}" "[FILES]
.TP
.I /etc/rt/cluster.json
The cluster config the packaged systemd units read (an example; edit it, then check
it with \\fBrtctl validate-config\\fR).
.TP
.I /etc/rt/secret, /etc/rt/worker-key
The API nodes' pseudonymization secret and the workers' key, root-owned, mode 0600.
.TP
.I /var/lib/rt/worker-ID
A worker's Kyoto Cabinet database.
[SEE ALSO]
.BR systemctl (1),
/usr/share/doc/rt/README.md
")

list(LENGTH names count)
if(count EQUAL 0)
  message(FATAL_ERROR "found no subcommands in `rtctl --help`")
endif()
execute_process(COMMAND "${HELP2MAN}" --no-info --no-discard-stderr --section=1
                        "--name=run, query, check and simulate an rt analytics cluster"
                        "--include=${include}" "--output=${OUT}" "${RTCTL}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (${rc}): ${err}")
endif()
execute_process(COMMAND "${GZIP}" -9nf "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${OUT} failed: ${rc}")
endif()
