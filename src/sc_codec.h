/*
 * sc_codec: the content codings a stored body is kept in (gzip with zlib,
 * br with libbrotli) and the choice among them for a client's
 * Accept-Encoding (RFC 9110 12.5.3).  Pure code (APR, zlib, libbrotli):
 * no request_rec, so tables of cases test it.
 *
 * A compressible response is stored coded only: its gzip and br forms
 * (each kept only where it is smaller), never the identity bytes.  A
 * client that accepts neither gets the gzip form decoded.
 */
#ifndef SC_CODEC_H
#define SC_CODEC_H

#include <apr_pools.h>

typedef enum {
    SC_CODING_IDENTITY = 0,
    SC_CODING_GZIP = 1,
    SC_CODING_BR = 2
} sc_coding_t;

#define SC_CODINGS 3          /* identity, gzip, br */
#define SC_CODEC_MIN 256      /* smaller bodies are stored as they are */
#define SC_CODEC_GZIP_LEVEL 6 /* zlib's default, mod_deflate's too */
#define SC_CODEC_BR_QUALITY 5 /* mod_brotli's default: 11 is ~40x slower */

/* A bit per coding: (1 << SC_CODING_GZIP) ... */
#define SC_CODING_BIT(c) (1u << (c))

/* "gzip", "br", "identity"; NULL for any other value. */
const char *sc_codec_name(sc_coding_t c);

/* The coding a name says ("gzip" and "x-gzip", "br"; case-insensitive),
 * or -1. */
int sc_codec_parse(const char *name);

/* May a body of this Content-Type be worth compressing: text/\*, JSON,
 * JavaScript, XML (also +xml, +json types) and SVG.  NULL: no. */
int sc_codec_compressible(const char *content_type);

/* The coding to serve from the codings stored (a mask of
 * SC_CODING_BIT, identity always possible by decoding) for a request's
 * Accept-Encoding value (NULL: the header is absent).
 *
 * The highest-weighted stored coding the client accepts with q > 0
 * (named, or by "*"), br before gzip on equal weights; identity when the
 * client accepts neither, when it names identity with a higher weight,
 * or when it sent no Accept-Encoding (RFC 9110 allows any coding then,
 * but clients without the header, such as curl and monitoring checks,
 * rarely decode).  A weight that is not RFC 9110's syntax counts as 0. */
sc_coding_t sc_codec_choose(const char *accept_encoding, unsigned stored);

/* Compress in[0, len) to *out (allocated from p).  APR_EGENERAL if the
 * library fails. */
apr_status_t sc_codec_gzip(apr_pool_t *p, const char *in, apr_size_t len,
                           char **out, apr_size_t *out_len);
apr_status_t sc_codec_brotli(apr_pool_t *p, const char *in, apr_size_t len,
                             char **out, apr_size_t *out_len);

/* A gzip member's fixed header and its trailer (CRC32, ISIZE). */
#define SC_CODEC_GZIP_HEAD 10
#define SC_CODEC_GZIP_TAIL 8

/* Do the first and last bytes of a stored gzip coding frame a gzip
 * member (magic, deflate) that says it decodes to expect bytes (its ISIZE,
 * modulo 2^32)?  A check without decoding, for codings served as they
 * are stored. */
int sc_codec_gzip_framed(const char head[SC_CODEC_GZIP_HEAD],
                         const char tail[SC_CODEC_GZIP_TAIL],
                         apr_size_t expect);

/* Decode a gzip member in[0, len) that must decode to exactly expect
 * bytes, into a buffer from malloc() (*out, the caller frees it).
 * APR_EINVAL for anything else: bad data, a wrong CRC or length, bytes
 * after the member. */
apr_status_t sc_codec_gunzip(const char *in, apr_size_t len, apr_size_t expect,
                             char **out);

/* The same into out (room for expect bytes). */
apr_status_t sc_codec_gunzip_into(const char *in, apr_size_t len, char *out,
                                  apr_size_t expect);

/* An entity-tag for coding c of the stored one (RFC 9110 8.8.3: each
 * coding is another representation): "abc" becomes "abc-gzip", W/"abc"
 * W/"abc-gzip", and a value that does not end in a quote gets the suffix
 * at its end, as mod_deflate and mod_brotli (AddSuffix, their default)
 * label the same body.  The stored value for identity. */
const char *sc_codec_etag(apr_pool_t *p, const char *etag, sc_coding_t c);

/* ---- a gzip member made of pieces (an ESI page for a gzip client) ----
 *
 * A piece is raw deflate data that decodes to one run of the page: blocks
 * none of which is final, ending on a byte boundary (zlib's sync flush,
 * whose last four bytes are 00 00 ff ff), then the CRC32 of the bytes it
 * decodes to (SC_CODEC_PIECE_CRC bytes, big-endian).  A piece is made
 * with an empty window: it refers to none of the bytes before it, so
 * pieces made apart (one when a fragment is stored, another when the page
 * is) follow each other in any order.  The member is
 * sc_codec_gzip_head, the pieces' deflate data in page order, and
 * sc_codec_gzip_end's empty final block and trailer. */
#define SC_CODEC_PIECE_CRC 4
#define SC_CODEC_GZIP_END (2 + SC_CODEC_GZIP_TAIL)

extern const char sc_codec_gzip_head[SC_CODEC_GZIP_HEAD];

/* Makes pieces with one compressor (reset for each piece). */
typedef struct sc_codec_pieces sc_codec_pieces_t;

/* A maker whose compressor lives as long as p; NULL if zlib fails. */
sc_codec_pieces_t *sc_codec_pieces_make(apr_pool_t *p);

/* The piece of in[0, len) (len > 0) into *out from p, its CRC included
 * (*out_len bytes).  APR_EGENERAL if zlib fails. */
apr_status_t sc_codec_pieces_add(sc_codec_pieces_t *z, apr_pool_t *p,
                                 const char *in, apr_size_t len, char **out,
                                 apr_size_t *out_len);

/* The same with a maker of its own (a store makes one piece). */
apr_status_t sc_codec_piece(apr_pool_t *p, const char *in, apr_size_t len,
                            char **out, apr_size_t *out_len);

/* Is piece[0, len) framed as a piece (deflate data ending in a sync
 * flush, then the CRC)?  Its CRC in *crc when it is. */
int sc_codec_piece_framed(const char *piece, apr_size_t len, apr_uint32_t *crc);

/* The CRC32 of a run a followed by a run b of b_len bytes. */
apr_uint32_t sc_codec_crc_combine(apr_uint32_t a, apr_uint32_t b,
                                  apr_uint64_t b_len);

/* The end of a member whose pieces decode to len bytes of CRC32 crc. */
void sc_codec_gzip_end(char out[SC_CODEC_GZIP_END], apr_uint32_t crc,
                       apr_uint64_t len);

#endif
