// Default runtime options of AddressSanitizer, LeakSanitizer and UBSan, linked into
// every executable (rtctl and the test binaries) of a -DRT_SANITIZE build. The
// runtimes call these hooks at start-up; ASAN_OPTIONS / UBSAN_OPTIONS in the
// environment still override them.
//
// Why: a sanitizer report must fail the test that caused it, also in a child
// process and also where the test expects a failing exit code. By default ASan,
// LSan and UBSan exit with 1, which is rtctl's ordinary "failure" code, so a leak
// in an error path of `rtctl validate-config bad.json` would pass a test that
// expects exit 1. Exit code 23 (LeakSanitizer's own default) is none of rtctl's
// (0, 1, 2) and reads as "sanitizer" in a test log.
extern "C" {

// Leak checking is the Linux default; it is stated so that it cannot silently go off.
const char* __asan_default_options() { return "detect_leaks=1:exitcode=23"; }

const char* __lsan_default_options() { return "exitcode=23"; }

// -fno-sanitize-recover=all makes every UBSan check fatal; the stack shows where.
const char* __ubsan_default_options() { return "print_stacktrace=1:exitcode=23"; }

}  // extern "C"
