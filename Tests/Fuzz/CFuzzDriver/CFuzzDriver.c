#include "CFuzzDriver.h"

// From libFuzzer (linked by -sanitize=fuzzer).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test)(const uint8_t *data, size_t size));

int commerce_fuzz_main(int argc, char **argv, commerce_fuzz_test test) {
    return LLVMFuzzerRunDriver(&argc, &argv, test);
}
