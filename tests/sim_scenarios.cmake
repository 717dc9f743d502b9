# `rtctl simulate` scenarios run by ctest (docs/design.md §10 "Simulator"). The small
# fixed-seed one passes through every change of the 48-hour scenario (the change
# hours scale with --hours: workers added at hour 2, an API node at 3, API node 0
# crashed at 4, a worker restarted at 5, an unsafe change refused at 6) and must match
# the oracle exactly.
add_test(NAME "sim: simulate small fixed-seed scenario"
         COMMAND rtctl simulate --hours 8 --events-per-hour 2000 --seed 1 --users 5000
                 --no-progress --report ${CMAKE_CURRENT_BINARY_DIR}/simulate-small.html)
set_tests_properties("sim: simulate small fixed-seed scenario" PROPERTIES TIMEOUT 120 LABELS sim)

# Replica sets of two (issue #14): the same changes plus a worker's disk loss and
# reseed (at hour 6 of 8, with the unsafe change) and reads that must all answer while
# a member is down; exact against the oracle.
add_test(NAME "sim: simulate replica sets of two with a worker crash and a disk loss"
         COMMAND rtctl simulate --hours 8 --events-per-hour 2000 --seed 3 --users 5000
                 --replicas 2 --workers 2 --added-workers 2 --wipe-at 7 --no-progress)
set_tests_properties("sim: simulate replica sets of two with a worker crash and a disk loss"
                     PROPERTIES TIMEOUT 120 LABELS sim
                     PASS_REGULAR_EXPRESSION "was reseeded from 0"
                     FAIL_REGULAR_EXPRESSION "simulate: FAIL|MISMATCH")

add_test(NAME "sim: simulate rejects workers that do not make whole replica sets with exit code 2"
         COMMAND sh -c "\"$0\" simulate --replicas 2 --workers 3 2>/dev/null; test $? -eq 2"
                 $<TARGET_FILE:rtctl>)
set_tests_properties("sim: simulate rejects workers that do not make whole replica sets with exit code 2"
                     PROPERTIES LABELS sim)

# The same scenario, as JSON: the verdict and the checked slices are in it.
add_test(NAME "sim: simulate prints a JSON report"
         COMMAND rtctl simulate --hours 3 --events-per-hour 500 --seed 2 --users 500
                 --no-progress --json)
set_tests_properties("sim: simulate prints a JSON report" PROPERTIES
                     TIMEOUT 120 LABELS sim
                     PASS_REGULAR_EXPRESSION "\"ok\": true"
                     FAIL_REGULAR_EXPRESSION "\"ok\": false")

# A usage error exits 2.
add_test(NAME "sim: simulate rejects a bad flag value with exit code 2"
         COMMAND sh -c "\"$0\" simulate --hours 0 2>/dev/null; test $? -eq 2" $<TARGET_FILE:rtctl>)
set_tests_properties("sim: simulate rejects a bad flag value with exit code 2" PROPERTIES LABELS sim)

# An impossible calendar date is a usage error too, found before anything starts.
add_test(NAME "sim: simulate rejects an impossible --first-slice with exit code 2"
         COMMAND sh -c "\"$0\" simulate --first-slice 2024-02-30T00:00:00 2>/dev/null; test $? -eq 2"
                 $<TARGET_FILE:rtctl>)
set_tests_properties("sim: simulate rejects an impossible --first-slice with exit code 2"
                     PROPERTIES LABELS sim)

# A report file that cannot be written fails before the run (the default 48-hour run
# would take minutes: the short timeout proves it is not run), with the reason.
add_test(NAME "sim: simulate checks --report before the run"
         COMMAND sh -c "out=$(\"$0\" simulate --no-progress --report /nonexistent/r.html 2>&1); rc=$?; echo \"$out\"; test $rc -eq 1 && echo \"$out\" | grep -q 'No such file or directory'"
                 $<TARGET_FILE:rtctl>)
set_tests_properties("sim: simulate checks --report before the run" PROPERTIES
                     TIMEOUT 20 LABELS sim)

# A run too short for a scenario change says so on stderr, and still passes.
add_test(NAME "sim: simulate says which changes a short run skips"
         COMMAND sh -c "err=$(\"$0\" simulate --hours 1 --events-per-hour 50 --users 20 --no-progress 2>&1 >/dev/null); rc=$?; echo \"$err\"; test $rc -eq 0 && echo \"$err\" | grep -q 'do not happen: workers join at hour 0'"
                 $<TARGET_FILE:rtctl>)
set_tests_properties("sim: simulate says which changes a short run skips" PROPERTIES
                     TIMEOUT 120 LABELS sim)

# An API node crashes mid-hour with traffic going on (no drain, its memory lost) and
# restarts on its spool: every 202 is still counted exactly, none twice; only the few
# POSTs the crash cut off may or may not count (the oracle's slack, docs §10).
add_test(NAME "sim: simulate an API-node crash matches the oracle"
         COMMAND sh -c "out=$(\"$0\" simulate --hours 3 --events-per-hour 3000 --seed 3 --users 2000 --crash-api-at 1 --no-progress 2>/dev/null); rc=$?; echo \"$out\"; test $rc -eq 0 && echo \"$out\" | grep -q 'API node 0 crashed'"
                 $<TARGET_FILE:rtctl>)
set_tests_properties("sim: simulate an API-node crash matches the oracle" PROPERTIES
                     TIMEOUT 120 LABELS sim)
