#pragma once

#include <cstdio>
#include <cstdlib>

// The fuzz targets' assertion: prints what failed and aborts, which libFuzzer
// reports as a crash and saves the input as a reproducer. Not assert(): it must
// hold in every build type.
#define RT_FUZZ_CHECK(cond)                                                              \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)
