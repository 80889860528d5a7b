/*
 * sc_record.h: the byte-level reader and writer of the stored records
 * (the entry, sc_entry.c; ESI's parsed form, sc_esi.c): big-endian
 * unsigned integers of 1 to 8 bytes and raw byte runs.  A writer with no
 * buffer only counts (the first of two passes sizes the record); a reader
 * turns bad at the first read past the end and then reads nothing.  Pure:
 * APR only.
 */
#ifndef SC_RECORD_H
#define SC_RECORD_H

#include <apr.h>
#include <apr_pools.h>
#include <string.h>

typedef struct {
    char *buf;      /* NULL: count only */
    apr_size_t len; /* bytes written (or counted) so far */
} sc_rec_writer_t;

static inline void sc_rec_put_bytes(sc_rec_writer_t *w, const void *src,
                                    apr_size_t n)
{
    if (w->buf && n) {
        memcpy(w->buf + w->len, src, n);
    }
    w->len += n;
}

static inline void sc_rec_put_uint(sc_rec_writer_t *w, apr_uint64_t v,
                                   int width)
{
    unsigned char b[8];
    int i;

    for (i = width - 1; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    sc_rec_put_bytes(w, b, (apr_size_t)width);
}

/* A record made by write(w, what) in two passes: one that counts, one
 * into a buffer of that size from p (*out, *len). */
typedef void (*sc_rec_write_fn)(sc_rec_writer_t *w, const void *what);

static inline void sc_rec_build(apr_pool_t *p, sc_rec_write_fn write,
                                const void *what, char **out, apr_size_t *len)
{
    sc_rec_writer_t w = { NULL, 0 };

    write(&w, what);
    w.buf = apr_palloc(p, w.len);
    w.len = 0;
    write(&w, what);
    *out = w.buf;
    *len = w.len;
}

typedef struct {
    const unsigned char *p;
    apr_size_t left;
    int bad; /* a read went past the end */
} sc_rec_reader_t;

static inline apr_uint64_t sc_rec_get_uint(sc_rec_reader_t *r, int width)
{
    apr_uint64_t v = 0;
    int i;

    if (r->bad || r->left < (apr_size_t)width) {
        r->bad = 1;
        return 0;
    }
    for (i = 0; i < width; i++) {
        v = (v << 8) | r->p[i];
    }
    r->p += width;
    r->left -= (apr_size_t)width;
    return v;
}

/* n bytes in place (not copied), or NULL. */
static inline const char *sc_rec_get_bytes(sc_rec_reader_t *r, apr_size_t n)
{
    const char *s = (const char *)r->p;

    if (r->bad || r->left < n) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return s;
}

#endif
