#ifndef COMMERCE_FUZZ_DRIVER_H
#define COMMERCE_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef int (*commerce_fuzz_test)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver (command line, corpus, mutations) over `test`. SwiftPM names an
/// executable's entry point `<Target>_main`, so libFuzzer's own `main` cannot be the entry point:
/// each target's `<Target>_main` calls this instead.
int commerce_fuzz_main(int argc, char **argv, commerce_fuzz_test test);

#endif
