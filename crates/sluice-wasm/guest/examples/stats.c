/* An aggregate (ksqlDB's UDAF: init, add, undo, merge, map) and a table
   function (its rows as an ARRAY), both with the encoded ABI. */
#include "sluice_udf.h"

SLUICE_MANIFEST("{\"functions\": ["
    "{\"name\": \"weighted_avg\", \"kind\": \"aggregate\","
    " \"description\": \"The average of v weighted by w; rows with a NULL are left out\","
    " \"author\": \"Sluice examples\", \"version\": \"1.0\","
    " \"overloads\": [{\"params\": [\"v DOUBLE\", \"w BIGINT\"], \"returns\": \"DOUBLE\","
    "  \"state\": \"STRUCT<SUM DOUBLE, WEIGHT BIGINT>\","
    "  \"init\": \"wavg_init\", \"add\": \"wavg_add\", \"undo\": \"wavg_undo\","
    "  \"merge\": \"wavg_merge\", \"map\": \"wavg_map\"}]},"
    "{\"name\": \"words\", \"kind\": \"table\","
    " \"description\": \"One row per word of a text\","
    " \"overloads\": [{\"export\": \"words\", \"params\": [\"text STRING\"], \"returns\": \"STRING\"}]}"
    "]}")

typedef struct {
    double sum;
    int64_t weight;
} wavg;

static wavg read_state(sluice_reader *r) {
    wavg s = {0, 0};
    sluice_value v = sluice_read(r);
    if (v.tag != SLUICE_STRUCT) return s;
    for (uint32_t i = 0; i < v.len; i++) {
        sluice_value name = sluice_read_name(r);
        sluice_value field = sluice_read(r);
        if (name.len == 3 && field.tag == SLUICE_DOUBLE) s.sum = field.d;
        if (name.len == 6 && field.tag == SLUICE_BIGINT) s.weight = field.i;
    }
    return s;
}

static uint64_t write_state(wavg s) {
    sluice_writer w = {0};
    sluice_write_struct(&w, 2);
    sluice_write_name(&w, "SUM", 3);
    sluice_write_double(&w, s.sum);
    sluice_write_name(&w, "WEIGHT", 6);
    sluice_write_bigint(&w, s.weight);
    return sluice_result(&w);
}

SLUICE_EXPORT("wavg_init")
uint64_t wavg_init(const uint8_t *args, uint32_t len) {
    wavg s = {0, 0};
    return write_state(s);
}

/* (v, w, state): the row in or out of the state */
static uint64_t fold(const uint8_t *args, uint32_t len, int sign) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_value v = sluice_read(&r);
    sluice_value w = sluice_read(&r);
    wavg s = read_state(&r);
    if (v.tag == SLUICE_DOUBLE && w.tag == SLUICE_BIGINT) {
        s.sum += sign * v.d * (double)w.i;
        s.weight += sign * w.i;
    }
    return write_state(s);
}

SLUICE_EXPORT("wavg_add")
uint64_t wavg_add(const uint8_t *args, uint32_t len) { return fold(args, len, 1); }

SLUICE_EXPORT("wavg_undo")
uint64_t wavg_undo(const uint8_t *args, uint32_t len) { return fold(args, len, -1); }

SLUICE_EXPORT("wavg_merge")
uint64_t wavg_merge(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    wavg a = read_state(&r), b = read_state(&r);
    a.sum += b.sum;
    a.weight += b.weight;
    return write_state(a);
}

SLUICE_EXPORT("wavg_map")
uint64_t wavg_map(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    wavg s = read_state(&r);
    sluice_writer w = {0};
    if (s.weight == 0) sluice_write_null(&w);
    else sluice_write_double(&w, s.sum / (double)s.weight);
    return sluice_result(&w);
}

SLUICE_EXPORT("words")
uint64_t words(const uint8_t *args, uint32_t len) {
    sluice_reader r = sluice_reader_of(args, len);
    sluice_value text = sluice_read(&r);
    uint32_t n = 0;
    if (text.tag == SLUICE_STRING) {
        for (uint32_t i = 0; i < text.len; i++)
            if (text.ptr[i] != ' ' && (i == 0 || text.ptr[i - 1] == ' ')) n++;
    }
    sluice_writer w = {0};
    sluice_write_array(&w, n);
    for (uint32_t i = 0; i < text.len && text.tag == SLUICE_STRING; i++) {
        if (text.ptr[i] == ' ' || (i > 0 && text.ptr[i - 1] != ' ')) continue;
        uint32_t end = i;
        while (end < text.len && text.ptr[end] != ' ') end++;
        sluice_write_string(&w, (const char *)text.ptr + i, end - i);
    }
    return sluice_result(&w);
}
