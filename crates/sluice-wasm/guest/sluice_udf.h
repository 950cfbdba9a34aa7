/*
 * sluice_udf.h: write Sluice user functions in C, built to WebAssembly with
 * Debian's clang and lld, no libc needed:
 *
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -fuse-ld=lld \
 *         -I crates/sluice-wasm/guest -o my_functions.wasm my_functions.c
 *
 * Include it in one file of the module. It gives the module what the ABI
 * (docs/wasm-functions.md) asks for: the exports `sluice_alloc` and
 * `sluice_reset` over a memory arena the host resets before every call,
 * SLUICE_MANIFEST to declare the functions, and a reader and a writer of
 * the encoded values that `"abi": "encoded"` functions take and return.
 */
#ifndef SLUICE_UDF_H
#define SLUICE_UDF_H

#include <stddef.h>
#include <stdint.h>

#define SLUICE_EXPORT(name) __attribute__((export_name(name)))

/* The functions the module declares, as JSON text (see the ABI). */
#define SLUICE_MANIFEST(json)                                                   \
    static const char sluice_manifest_text[] = json;                            \
    SLUICE_EXPORT("sluice_manifest") uint64_t sluice_manifest(void) {           \
        return ((uint64_t)(uintptr_t)sluice_manifest_text << 32) |              \
               (uint64_t)(sizeof sluice_manifest_text - 1);                     \
    }

/* ---- memory: an arena from the end of the module's data, reset per call ---- */

extern unsigned char __heap_base;
static uintptr_t sluice_top;

SLUICE_EXPORT("sluice_reset") void sluice_reset(void) {
    sluice_top = (uintptr_t)&__heap_base;
}

/* `n` bytes, 8-byte aligned, valid until the host's next `sluice_reset`;
   traps when the memory limit is reached. */
SLUICE_EXPORT("sluice_alloc") void *sluice_alloc(uint32_t n) {
    if (sluice_top == 0) sluice_top = (uintptr_t)&__heap_base;
    /* in 64 bits: a 32-bit address space must not wrap around */
    uint64_t p = ((uint64_t)sluice_top + 7) & ~(uint64_t)7;
    uint64_t end = p + n;
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536;
    if (end > 0xFFFFFFFFull) __builtin_trap();
    if (end > have &&
        __builtin_wasm_memory_grow(0, (size_t)((end - have + 65535) / 65536)) == (size_t)-1)
        __builtin_trap();
    sluice_top = (uintptr_t)end;
    return (void *)(uintptr_t)p;
}

static void sluice_copy(uint8_t *to, const uint8_t *from, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) to[i] = from[i];
}

/* ---- values ---- */

enum {
    SLUICE_NULL = 0, SLUICE_BOOLEAN = 1, SLUICE_INT = 2, SLUICE_BIGINT = 3,
    SLUICE_DOUBLE = 4, SLUICE_STRING = 5, SLUICE_BYTES = 6, SLUICE_DECIMAL = 7,
    SLUICE_DATE = 8, SLUICE_TIME = 9, SLUICE_TIMESTAMP = 10, SLUICE_ARRAY = 11,
    SLUICE_MAP = 12, SLUICE_STRUCT = 13
};

/* One value as read. For ARRAY, MAP and STRUCT only the count is read: the
   elements follow (a map's as key, value; a struct's as sluice_read_name,
   then the value). */
typedef struct {
    uint8_t tag;
    int64_t i;          /* BOOLEAN, INT, BIGINT, DATE, TIME, TIMESTAMP */
    double d;           /* DOUBLE */
    const uint8_t *ptr; /* STRING, BYTES */
    uint32_t len;       /* STRING, BYTES; the count of ARRAY, MAP, STRUCT */
    __int128 unscaled;  /* DECIMAL */
    uint8_t scale;      /* DECIMAL */
} sluice_value;

typedef struct {
    const uint8_t *p, *end;
} sluice_reader;

static sluice_reader sluice_reader_of(const uint8_t *args, uint32_t len) {
    sluice_reader r = {args, args + len};
    return r;
}

static int sluice_at_end(const sluice_reader *r) { return r->p >= r->end; }

/* Traps unless `n` more bytes are there to read. */
static void sluice_need(const sluice_reader *r, uint64_t n) {
    if (r->p > r->end || n > (uint64_t)(r->end - r->p)) __builtin_trap();
}

static uint64_t sluice_le(sluice_reader *r, int n) {
    uint64_t v = 0;
    sluice_need(r, (uint64_t)n);
    for (int i = 0; i < n; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static sluice_value sluice_read(sluice_reader *r) {
    sluice_value v = {0};
    v.tag = (uint8_t)sluice_le(r, 1);
    switch (v.tag) {
    case SLUICE_NULL: break;
    case SLUICE_BOOLEAN: v.i = (int64_t)sluice_le(r, 1); break;
    case SLUICE_INT: case SLUICE_DATE: case SLUICE_TIME:
        v.i = (int32_t)(uint32_t)sluice_le(r, 4); break;
    case SLUICE_BIGINT: case SLUICE_TIMESTAMP: v.i = (int64_t)sluice_le(r, 8); break;
    case SLUICE_DOUBLE: {
        uint64_t bits = sluice_le(r, 8);
        __builtin_memcpy(&v.d, &bits, 8);
        break;
    }
    case SLUICE_STRING: case SLUICE_BYTES:
        v.len = (uint32_t)sluice_le(r, 4);
        sluice_need(r, v.len);
        v.ptr = r->p;
        r->p += v.len;
        break;
    case SLUICE_DECIMAL: {
        uint64_t lo = sluice_le(r, 8), hi = sluice_le(r, 8);
        v.unscaled = (__int128)(((unsigned __int128)hi << 64) | lo);
        v.scale = (uint8_t)sluice_le(r, 1);
        break;
    }
    case SLUICE_ARRAY: case SLUICE_MAP: case SLUICE_STRUCT:
        v.len = (uint32_t)sluice_le(r, 4); break;
    default: __builtin_trap();
    }
    return v;
}

/* A struct field's name (before its value). */
static sluice_value sluice_read_name(sluice_reader *r) {
    sluice_value v = {0};
    v.tag = SLUICE_STRING;
    v.len = (uint32_t)sluice_le(r, 4);
    sluice_need(r, v.len);
    v.ptr = r->p;
    r->p += v.len;
    return v;
}

/* Skips a whole value, elements included. */
static void sluice_skip(sluice_reader *r) {
    sluice_value v = sluice_read(r);
    uint32_t n = v.len;
    if (v.tag == SLUICE_ARRAY) for (uint32_t i = 0; i < n; i++) sluice_skip(r);
    if (v.tag == SLUICE_MAP) for (uint32_t i = 0; i < 2 * n; i++) sluice_skip(r);
    if (v.tag == SLUICE_STRUCT)
        for (uint32_t i = 0; i < n; i++) { sluice_read_name(r); sluice_skip(r); }
}

/* ---- results ---- */

typedef struct {
    uint8_t *buf;
    uint32_t len, cap;
} sluice_writer;

static void sluice_put(sluice_writer *w, const void *bytes, uint32_t n) {
    uint64_t need = (uint64_t)w->len + n;
    if (need > 0x7FFFFFFFull) __builtin_trap();
    if (need > w->cap) {
        uint64_t cap = w->cap ? (uint64_t)w->cap * 2 : 64;
        while (cap < need) cap *= 2;
        uint8_t *buf = (uint8_t *)sluice_alloc((uint32_t)cap);
        if (w->len) sluice_copy(buf, w->buf, w->len);
        w->buf = buf;
        w->cap = (uint32_t)cap;
    }
    sluice_copy(w->buf + w->len, (const uint8_t *)bytes, n);
    w->len += n;
}

static void sluice_put_le(sluice_writer *w, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    sluice_put(w, b, n);
}

static void sluice_tag(sluice_writer *w, uint8_t tag) { sluice_put(w, &tag, 1); }
static void sluice_write_null(sluice_writer *w) { sluice_tag(w, SLUICE_NULL); }
static void sluice_write_boolean(sluice_writer *w, int b) {
    sluice_tag(w, SLUICE_BOOLEAN); sluice_put_le(w, b != 0, 1);
}
static void sluice_write_int(sluice_writer *w, int32_t v) {
    sluice_tag(w, SLUICE_INT); sluice_put_le(w, (uint32_t)v, 4);
}
static void sluice_write_bigint(sluice_writer *w, int64_t v) {
    sluice_tag(w, SLUICE_BIGINT); sluice_put_le(w, (uint64_t)v, 8);
}
static void sluice_write_double(sluice_writer *w, double d) {
    uint64_t bits;
    __builtin_memcpy(&bits, &d, 8);
    sluice_tag(w, SLUICE_DOUBLE); sluice_put_le(w, bits, 8);
}
static void sluice_write_text(sluice_writer *w, uint8_t tag, const void *p, uint32_t n) {
    sluice_tag(w, tag); sluice_put_le(w, n, 4); sluice_put(w, p, n);
}
static void sluice_write_string(sluice_writer *w, const char *p, uint32_t n) {
    sluice_write_text(w, SLUICE_STRING, p, n);
}
static void sluice_write_bytes(sluice_writer *w, const void *p, uint32_t n) {
    sluice_write_text(w, SLUICE_BYTES, p, n);
}
static void sluice_write_decimal(sluice_writer *w, __int128 unscaled, uint8_t scale) {
    sluice_tag(w, SLUICE_DECIMAL);
    sluice_put_le(w, (uint64_t)unscaled, 8);
    sluice_put_le(w, (uint64_t)((unsigned __int128)unscaled >> 64), 8);
    sluice_put_le(w, scale, 1);
}
/* An ARRAY, MAP or STRUCT of `n`: then write its elements. */
static void sluice_write_array(sluice_writer *w, uint32_t n) {
    sluice_tag(w, SLUICE_ARRAY); sluice_put_le(w, n, 4);
}
static void sluice_write_map(sluice_writer *w, uint32_t n) {
    sluice_tag(w, SLUICE_MAP); sluice_put_le(w, n, 4);
}
static void sluice_write_struct(sluice_writer *w, uint32_t n) {
    sluice_tag(w, SLUICE_STRUCT); sluice_put_le(w, n, 4);
}
/* A struct field's name, before its value. */
static void sluice_write_name(sluice_writer *w, const char *p, uint32_t n) {
    sluice_put_le(w, n, 4); sluice_put(w, p, n);
}
/* Copies one value as read from `r` (elements included). */
static void sluice_write_copy(sluice_writer *w, sluice_reader *r) {
    const uint8_t *start = r->p;
    sluice_skip(r);
    sluice_put(w, start, (uint32_t)(r->p - start));
}

/* What an encoded-ABI function returns. */
static uint64_t sluice_result(const sluice_writer *w) {
    return ((uint64_t)(uintptr_t)w->buf << 32) | w->len;
}

#endif
