/* Generic functions: type variables in a signature, as ksqlDB's generic
   UDFs declare them. The encoded ABI hands over values whatever their type;
   the result's type comes from the arguments of each call. */
#include "sluice_udf.h"

SLUICE_MANIFEST("{\"functions\": ["
    "{\"name\": \"first_non_null\", \"description\": \"The first of its arguments that is not NULL\","
    " \"overloads\": [{\"export\": \"first_non_null\", \"params\": [\"xs T...\"], \"returns\": \"T\"}]},"
    "{\"name\": \"last_element\", \"description\": \"The last element of an array\","
    " \"overloads\": [{\"export\": \"last_element\", \"params\": [\"xs ARRAY<T>\"], \"returns\": \"T\"}]},"
    "{\"name\": \"keys_of\", \"kind\": \"table\", \"description\": \"One row per key of a map\","
    " \"overloads\": [{\"export\": \"keys_of\", \"params\": [\"m MAP<K, V>\"], \"returns\": \"K\"}]}"
    "]}")

SLUICE_EXPORT("first_non_null")
uint64_t first_non_null(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_writer w = {0};
    while (!sluice_at_end(&r)) {
        if (*r.p != SLUICE_NULL) {
            sluice_write_copy(&w, &r);
            return sluice_result(&w);
        }
        sluice_skip(&r);
    }
    sluice_write_null(&w);
    return sluice_result(&w);
}

SLUICE_EXPORT("last_element")
uint64_t last_element(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_writer w = {0};
    sluice_value xs = sluice_read(&r);
    if (xs.tag != SLUICE_ARRAY || xs.len == 0) {
        sluice_write_null(&w);
        return sluice_result(&w);
    }
    for (uint32_t i = 0; i + 1 < xs.len; i++) sluice_skip(&r);
    sluice_write_copy(&w, &r);
    return sluice_result(&w);
}

SLUICE_EXPORT("keys_of")
uint64_t keys_of(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_writer w = {0};
    sluice_value m = sluice_read(&r);
    uint32_t n = m.tag == SLUICE_MAP ? m.len : 0;
    sluice_write_array(&w, n);
    for (uint32_t i = 0; i < n; i++) {
        sluice_write_copy(&w, &r);
        sluice_skip(&r);
    }
    return sluice_result(&w);
}
