/* Functions that fail: one traps on negative numbers, one never ends on
   zero, one asks for more memory than an instance may have. Each failure
   costs its row a NULL and a processing-log entry; the query goes on. */
#include "sluice_udf.h"

SLUICE_MANIFEST("{\"functions\": ["
    "{\"name\": \"checked_sqrt\", \"overloads\": [{\"export\": \"checked_sqrt\","
    "  \"abi\": \"direct\", \"params\": [\"x BIGINT\"], \"returns\": \"DOUBLE\"}]},"
    "{\"name\": \"collatz_steps\", \"overloads\": [{\"export\": \"collatz_steps\","
    "  \"abi\": \"direct\", \"params\": [\"x BIGINT\"], \"returns\": \"BIGINT\"}]},"
    "{\"name\": \"hog\", \"overloads\": [{\"export\": \"hog\","
    "  \"params\": [\"megabytes INT\"], \"returns\": \"INT\"}]}"
    "]}")

SLUICE_EXPORT("checked_sqrt")
double checked_sqrt(int64_t x) {
    if (x < 0) __builtin_trap();
    return __builtin_sqrt((double)x);
}

/* 0 never reaches 1: the call runs until its fuel is gone */
SLUICE_EXPORT("collatz_steps")
int64_t collatz_steps(int64_t x) {
    int64_t steps = 0;
    while (x != 1) {
        x = (x % 2 == 0) ? x / 2 : 3 * x + 1;
        steps++;
    }
    return steps;
}

SLUICE_EXPORT("hog")
uint64_t hog(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_value mb = sluice_read(&r);
    uint64_t bytes = (uint64_t)mb.i << 20;
    if (mb.i < 0 || bytes > 0xFFFFFFFFull) __builtin_trap();
    uint8_t *p = (uint8_t *)sluice_alloc((uint32_t)bytes);
    p[0] = 1;
    sluice_writer w = {0};
    sluice_write_int(&w, (int32_t)mb.i);
    return sluice_result(&w);
}
