/* Functions with the encoded ABI: strings, NULLs, arrays and structs, and
   overloads. */
#include "sluice_udf.h"

SLUICE_MANIFEST("{\"functions\": ["
    "{\"name\": \"initials\", \"description\": \"The first letter of each word, upper case\","
    " \"overloads\": [{\"export\": \"initials\", \"params\": [\"name STRING\"], \"returns\": \"STRING\"}]},"
    "{\"name\": \"describe_list\","
    " \"description\": \"How many elements a list has and how many are NULL\","
    " \"overloads\": ["
    "  {\"export\": \"describe_list\", \"params\": [\"xs ARRAY<BIGINT>\"],"
    "   \"returns\": \"STRUCT<SIZE INT, NULLS INT>\"},"
    "  {\"export\": \"describe_list\", \"params\": [\"xs ARRAY<STRING>\"],"
    "   \"returns\": \"STRUCT<SIZE INT, NULLS INT>\"}]},"
    "{\"name\": \"sum_all\", \"description\": \"The sum of its arguments, NULLs left out\","
    " \"overloads\": [{\"export\": \"sum_all\", \"params\": [\"xs BIGINT...\"], \"returns\": \"BIGINT\"}]}"
    "]}")

SLUICE_EXPORT("initials")
uint64_t initials(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_value name = sluice_read(&r);
    sluice_writer w = {0};
    if (name.tag == SLUICE_NULL) {
        sluice_write_string(&w, "?", 1);
        return sluice_result(&w);
    }
    char *out = (char *)sluice_alloc(name.len + 1);
    uint32_t n = 0;
    int start = 1;
    for (uint32_t i = 0; i < name.len; i++) {
        char c = (char)name.ptr[i];
        if (c == ' ') { start = 1; continue; }
        if (start) out[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
        start = 0;
    }
    sluice_write_string(&w, out, n);
    return sluice_result(&w);
}

SLUICE_EXPORT("describe_list")
uint64_t describe_list(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_value xs = sluice_read(&r);
    sluice_writer w = {0};
    if (xs.tag == SLUICE_NULL) {
        sluice_write_null(&w);
        return sluice_result(&w);
    }
    int32_t nulls = 0;
    for (uint32_t i = 0; i < xs.len; i++) {
        const uint8_t *at = r.p;
        if (*at == SLUICE_NULL) nulls++;
        sluice_skip(&r);
    }
    sluice_write_struct(&w, 2);
    sluice_write_name(&w, "SIZE", 4);
    sluice_write_int(&w, (int32_t)xs.len);
    sluice_write_name(&w, "NULLS", 5);
    sluice_write_int(&w, nulls);
    return sluice_result(&w);
}

SLUICE_EXPORT("sum_all")
uint64_t sum_all(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    int64_t sum = 0;
    while (!sluice_at_end(&r)) {
        sluice_value v = sluice_read(&r);
        if (v.tag == SLUICE_BIGINT) sum += v.i;
    }
    sluice_writer w = {0};
    sluice_write_bigint(&w, sum);
    return sluice_result(&w);
}
