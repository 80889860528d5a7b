/*
 * sc_codec.c: content codings of stored bodies (see sc_codec.h).
 */
#include "sc_codec.h"

#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <brotli/encode.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *const names[SC_CODINGS] = { "identity", "gzip", "br" };

const char *sc_codec_name(sc_coding_t c)
{
    return (unsigned)c < SC_CODINGS ? names[c] : NULL;
}

int sc_codec_parse(const char *name)
{
    if (!strcasecmp(name, "gzip") || !strcasecmp(name, "x-gzip")) {
        return SC_CODING_GZIP;
    }
    if (!strcasecmp(name, "br")) {
        return SC_CODING_BR;
    }
    if (!strcasecmp(name, "identity")) {
        return SC_CODING_IDENTITY;
    }
    return -1;
}

static int has_suffix(const char *s, apr_size_t len, const char *suffix)
{
    apr_size_t n = strlen(suffix);

    return len >= n && !strncasecmp(s + len - n, suffix, n);
}

int sc_codec_compressible(const char *content_type)
{
    static const char *const app[] = {
        "application/json",         "application/javascript",
        "application/x-javascript", "application/ecmascript",
        "application/xml",          NULL
    };
    const char *const *a;
    apr_size_t len;

    if (!content_type) {
        return 0;
    }
    len = strcspn(content_type, "; \t");
    /* an event stream is never complete: never stored anyway */
    if (len == 17 && !strncasecmp(content_type, "text/event-stream", len)) {
        return 0;
    }
    if (len > 5 && !strncasecmp(content_type, "text/", 5)) {
        return 1;
    }
    for (a = app; *a; a++) {
        if (len == strlen(*a) && !strncasecmp(content_type, *a, len)) {
            return 1;
        }
    }
    return has_suffix(content_type, len, "+xml")
           || has_suffix(content_type, len, "+json");
}

/* ---- Accept-Encoding ---------------------------------------------------- */

/* RFC 9110 12.4.2: weight = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ],
 * in thousandths; -1 when it is not that. */
static int weight(const char *s, apr_size_t n)
{
    int q, scale = 100;
    apr_size_t i;

    if (n == 0 || (s[0] != '0' && s[0] != '1')) {
        return -1;
    }
    q = (s[0] - '0') * 1000;
    if (n == 1) {
        return q;
    }
    if (s[1] != '.' || n > 5) {
        return -1;
    }
    for (i = 2; i < n; i++, scale /= 10) {
        if (!apr_isdigit(s[i]) || (q == 1000 && s[i] != '0')) {
            return -1;
        }
        q += (s[i] - '0') * scale;
    }
    return q;
}

/* The weight of one member "coding;q=0.5" (its text [s, end)), 1000 if
 * none is given, -1 if malformed; *name and *name_len the coding. */
static int member(const char *s, const char *end, const char **name,
                  apr_size_t *name_len)
{
    const char *p = s;
    int q = 1000;

    while (p < end && *p != ';' && *p != ' ' && *p != '\t') {
        p++;
    }
    *name = s;
    *name_len = (apr_size_t)(p - s);
    while (p < end) {
        const char *v;
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';')) {
            p++;
        }
        if (p == end) {
            break;
        }
        if (end - p < 2 || apr_tolower(p[0]) != 'q' || p[1] != '=') {
            return -1; /* Accept-Encoding has no other parameter */
        }
        v = p += 2;
        while (p < end && *p != ';' && *p != ' ' && *p != '\t') {
            p++;
        }
        q = weight(v, (apr_size_t)(p - v));
        if (q < 0) {
            return -1;
        }
    }
    return q;
}

sc_coding_t sc_codec_choose(const char *ae, unsigned stored)
{
    /* the weights the client gave: -1 unnamed; [SC_CODINGS] is "*" */
    int q[SC_CODINGS + 1] = { -1, -1, -1, -1 };
    int c, best = SC_CODING_IDENTITY, best_q;

    if (!ae) {
        return SC_CODING_IDENTITY;
    }
    while (*ae) {
        const char *end = ae + strcspn(ae, ","), *name;
        apr_size_t len;
        int w, which = -1;

        while (ae < end && (*ae == ' ' || *ae == '\t')) {
            ae++;
        }
        w = member(ae, end, &name, &len);
        if (len == 1 && *name == '*') {
            which = SC_CODINGS;
        }
        else if (len > 0 && len < 16) {
            char buf[16];
            memcpy(buf, name, len);
            buf[len] = '\0';
            which = sc_codec_parse(buf);
        }
        if (which >= 0 && q[which] < 0) {
            q[which] = w < 0 ? 0 : w; /* a malformed weight refuses */
        }
        ae = *end ? end + 1 : end;
    }
    /* identity unnamed is acceptable, below any coding the client takes */
    best_q = q[SC_CODING_IDENTITY] >= 0 ? q[SC_CODING_IDENTITY] : 0;
    for (c = SC_CODING_BR; c >= SC_CODING_GZIP; c--) {
        int w = q[c] >= 0 ? q[c] : q[SC_CODINGS];
        if ((stored & SC_CODING_BIT(c)) && w > 0 && w >= best_q
            && (best == SC_CODING_IDENTITY ? 1 : w > best_q)) {
            best = c;
            best_q = w;
        }
    }
    return (sc_coding_t)best;
}

/* ---- compressing and decoding --------------------------------------- */

apr_status_t sc_codec_gzip(apr_pool_t *p, const char *in, apr_size_t len,
                           char **out, apr_size_t *out_len)
{
    z_stream z;
    uLong bound;
    int rc;

    memset(&z, 0, sizeof(z));
    /* 15 + 16: a gzip member (header and CRC trailer), not zlib's */
    if (deflateInit2(&z, SC_CODEC_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY)
        != Z_OK) {
        return APR_EGENERAL;
    }
    bound = deflateBound(&z, (uLong)len) + 32;
    *out = apr_palloc(p, (apr_size_t)bound);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)*out;
    z.avail_out = (uInt)bound;
    rc = deflate(&z, Z_FINISH);
    *out_len = (apr_size_t)z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END && (uLong)len == z.total_in ? APR_SUCCESS
                                                          : APR_EGENERAL;
}

apr_status_t sc_codec_brotli(apr_pool_t *p, const char *in, apr_size_t len,
                             char **out, apr_size_t *out_len)
{
    size_t bound = BrotliEncoderMaxCompressedSize(len);

    if (bound == 0) {
        return APR_EGENERAL;
    }
    *out = apr_palloc(p, bound);
    *out_len = bound;
    return BrotliEncoderCompress(SC_CODEC_BR_QUALITY, BROTLI_DEFAULT_WINDOW,
                                 BROTLI_MODE_TEXT, len, (const uint8_t *)in,
                                 out_len, (uint8_t *)*out)
               ? APR_SUCCESS
               : APR_EGENERAL;
}

/* One spare decompressor (about 11 KiB, no state between calls) for the
 * whole process: allocating one per decode was 5 % of the inflate's
 * time.  A decode takes the spare (or allocates one) and gives it back,
 * freeing the one it displaces.  Nothing is kept per thread: mod_http2
 * ends the workers it starts beyond H2MinWorkers once they idle, and a
 * decompressor kept by such a thread was lost with it. */
static volatile void *spare_decompressor;

apr_status_t sc_codec_gunzip_into(const char *in, apr_size_t len, char *out,
                                  apr_size_t expect)
{
    struct libdeflate_decompressor *d, *was;
    enum libdeflate_result rc;
    size_t used = 0, made = 0;

    d = apr_atomic_xchgptr(&spare_decompressor, NULL);
    if (!d) {
        d = libdeflate_alloc_decompressor();
        if (!d) {
            return APR_ENOMEM;
        }
    }
    /* libdeflate checks the CRC and the length of the trailer (about half
     * zlib's time on a 16 KiB page, CRC included); all of in must be the
     * member, and the member exactly expect bytes */
    rc = libdeflate_gzip_decompress_ex(d, in, len, out, expect, &used, &made);
    was = apr_atomic_xchgptr(&spare_decompressor, d);
    if (was) {
        libdeflate_free_decompressor(was);
    }
    if (rc != LIBDEFLATE_SUCCESS || used != len || made != expect) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t sc_codec_gunzip(const char *in, apr_size_t len, apr_size_t expect,
                             char **out)
{
    apr_status_t rv;

    *out = malloc(expect ? expect : 1);
    if (!*out) {
        return APR_ENOMEM;
    }
    rv = sc_codec_gunzip_into(in, len, *out, expect);
    if (rv != APR_SUCCESS) {
        free(*out);
        *out = NULL;
    }
    return rv;
}

const char *sc_codec_etag(apr_pool_t *p, const char *etag, sc_coding_t c)
{
    apr_size_t n;

    if (c == SC_CODING_IDENTITY || !etag) {
        return etag;
    }
    n = strlen(etag);
    if (n < 2 || etag[n - 1] != '"') {
        return apr_pstrcat(p, etag, "-", sc_codec_name(c), NULL);
    }
    return apr_psprintf(p, "%.*s-%s\"", (int)(n - 1), etag, sc_codec_name(c));
}

int sc_codec_gzip_framed(const char head[SC_CODEC_GZIP_HEAD],
                         const char tail[SC_CODEC_GZIP_TAIL], apr_size_t expect)
{
    const unsigned char *h = (const unsigned char *)head;
    const unsigned char *t = (const unsigned char *)tail + 4;
    apr_uint32_t isize = (apr_uint32_t)t[0] | (apr_uint32_t)t[1] << 8
                         | (apr_uint32_t)t[2] << 16 | (apr_uint32_t)t[3] << 24;

    return h[0] == 0x1f && h[1] == 0x8b && h[2] == Z_DEFLATED
           && isize == (apr_uint32_t)expect;
}

/* ---- a gzip member made of pieces --------------------------------------- */

/* magic, deflate, no flags, no time, no extra flags, OS "Unix" */
const char sc_codec_gzip_head[SC_CODEC_GZIP_HEAD] = {
    0x1f, (char)0x8b, 8, 0, 0, 0, 0, 0, 0, 3
};

struct sc_codec_pieces {
    z_stream z;
};

static apr_status_t pieces_end(void *data)
{
    sc_codec_pieces_t *z = data;

    deflateEnd(&z->z);
    return APR_SUCCESS;
}

sc_codec_pieces_t *sc_codec_pieces_make(apr_pool_t *p)
{
    sc_codec_pieces_t *z = apr_pcalloc(p, sizeof(*z));

    /* -15: raw deflate, no zlib or gzip framing of its own */
    if (deflateInit2(&z->z, SC_CODEC_GZIP_LEVEL, Z_DEFLATED, -15, 8,
                     Z_DEFAULT_STRATEGY)
        != Z_OK) {
        return NULL;
    }
    apr_pool_cleanup_register(p, z, pieces_end, apr_pool_cleanup_null);
    return z;
}

static void put_be32(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static void put_le32(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

apr_status_t sc_codec_pieces_add(sc_codec_pieces_t *z, apr_pool_t *p,
                                 const char *in, apr_size_t len, char **out,
                                 apr_size_t *out_len)
{
    /* a sync flush adds an empty stored block (5 bytes) at most, and may
     * close a partial block first */
    uLong bound = deflateBound(&z->z, (uLong)len) + 16;
    apr_size_t made;
    int rc;

    if (len == 0 || len > 0xffffffffu || deflateReset(&z->z) != Z_OK) {
        return APR_EGENERAL;
    }
    *out = apr_palloc(p, (apr_size_t)bound + SC_CODEC_PIECE_CRC);
    z->z.next_in = (Bytef *)in;
    z->z.avail_in = (uInt)len;
    z->z.next_out = (Bytef *)*out;
    z->z.avail_out = (uInt)bound;
    rc = deflate(&z->z, Z_SYNC_FLUSH);
    made = (apr_size_t)(bound - z->z.avail_out);
    if (rc != Z_OK || z->z.avail_in != 0 || z->z.avail_out == 0) {
        return APR_EGENERAL;
    }
    put_be32((unsigned char *)*out + made,
             (apr_uint32_t)crc32(0, (const Bytef *)in, (uInt)len));
    *out_len = made + SC_CODEC_PIECE_CRC;
    return APR_SUCCESS;
}

apr_status_t sc_codec_piece(apr_pool_t *p, const char *in, apr_size_t len,
                            char **out, apr_size_t *out_len)
{
    apr_pool_t *tmp;
    sc_codec_pieces_t *z;
    apr_status_t rv = APR_EGENERAL;

    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return APR_ENOMEM;
    }
    z = sc_codec_pieces_make(tmp);
    if (z) {
        rv = sc_codec_pieces_add(z, p, in, len, out, out_len);
    }
    apr_pool_destroy(tmp);
    return rv;
}

int sc_codec_piece_framed(const char *piece, apr_size_t len, apr_uint32_t *crc)
{
    static const unsigned char sync[4] = { 0, 0, 0xff, 0xff };
    const unsigned char *b = (const unsigned char *)piece;

    if (len < 5 + SC_CODEC_PIECE_CRC
        || memcmp(b + len - SC_CODEC_PIECE_CRC - 4, sync, 4)) {
        return 0;
    }
    b += len - SC_CODEC_PIECE_CRC;
    *crc = (apr_uint32_t)b[0] << 24 | (apr_uint32_t)b[1] << 16
           | (apr_uint32_t)b[2] << 8 | (apr_uint32_t)b[3];
    return 1;
}

apr_uint32_t sc_codec_crc_combine(apr_uint32_t a, apr_uint32_t b,
                                  apr_uint64_t b_len)
{
    return (apr_uint32_t)crc32_combine(a, b, (z_off_t)b_len);
}

void sc_codec_gzip_end(char out[SC_CODEC_GZIP_END], apr_uint32_t crc,
                       apr_uint64_t len)
{
    unsigned char *b = (unsigned char *)out;

    /* a final block of the fixed codes holding only end-of-block */
    b[0] = 0x03;
    b[1] = 0x00;
    put_le32(b + 2, crc);
    put_le32(b + 6, (apr_uint32_t)len);
}
