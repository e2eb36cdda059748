/* tests/fuzz/fuzz.h - every harness defines LLVMFuzzerTestOneInput. Built
 * with clang -fsanitize=fuzzer for `make fuzz`, and with tests/fuzz/driver.c
 * (cmocka) to replay the committed corpus inside `make test`. */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
