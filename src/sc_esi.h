/*
 * sc_esi: the ESI parser and the parsed form stored in an entry
 * (DESIGN.md sections 2 and 4, THREATS.md 16, 29 and 35).
 *
 * Pure code (APR only).  A page is parsed once, when it is stored; what a
 * hit reads back is the parsed form (sc_esi_encode / sc_esi_decode), never
 * the page again.
 *
 * ---- The language: an ESI 1.0 subset -------------------------------------
 *
 *   <esi:include src="..." alt="..." onerror="continue"/>
 *   <esi:include src="..."></esi:include>     the same, blanks allowed
 *                                              between the two tags
 *   <esi:remove> ... </esi:remove>             dropped with its content,
 *                                              which is never processed
 *   <esi:comment text="..."/>                  dropped (either empty form,
 *                                              like include)
 *   <!--esi ... -->                            the wrapper dropped, its
 *                                              content processed as ESI
 *
 * Everything else is literal: bytes sent exactly as they came, NUL bytes
 * included.  ESI tags inside ordinary HTML comments are processed (as in
 * Varnish); nothing is done about CDATA sections or <script>.
 *
 * Tags follow XML, which ESI is written in:
 *   <esi:NAME (blank+ ATTR)* blank* ("/>" | ">")      start tag
 *   </esi:NAME blank* >                              end tag
 *   ATTR = ANAME blank* "=" blank* ('"' VALUE '"' | "'" VALUE "'")
 * where a blank is space, tab, CR or LF, NAME and ANAME are 1 to
 * SC_ESI_MAX_NAME bytes of [A-Za-z0-9_.:-], and VALUE holds no '<' and no
 * NUL.  Values are taken as written: no entity (&amp;) is decoded.  So
 * "<esi:include  src = 'x' />" is an include of x.  ESI is case-sensitive:
 * "<ESI:include" is not ESI (reported below, passed through), and
 * "<esi:Include" is an unknown element.
 *
 * Attributes: include reads src, alt and onerror; onerror="continue" (that
 * exact value) sets onerror_continue, any other value leaves the default
 * (a failed include fails the page).  alt="" is no alt.  Other attributes,
 * and every attribute of remove and comment, are ignored.
 *
 * ---- Malformed input: the rule ---------------------------------------------
 *
 * Whatever cannot be executed exactly as written is passed through: its
 * bytes are literal, unchanged, and it is counted in doc->malformed (the
 * first reason and offset kept for one log line).  The page never fails
 * for it and no byte of it is lost.  (The specification says nothing of
 * malformed markup; the one failure it requires, an include that cannot
 * be fetched without onerror="continue", is the caller's, below.)  In
 * particular:
 *
 *   unclosed tag (no '>' before the end, the next '<', or SC_ESI_MAX_TAG
 *     bytes), attribute without quotes, without a value or without a blank
 *     before it, duplicate attribute (never guess which one counts: another
 *     processor may pick the other), attribute value over SC_ESI_MAX_ATTR
 *     bytes, more than SC_ESI_MAX_ATTRS attributes, a NUL byte or a '<'
 *     anywhere inside a tag, "/ >", "<esi:" without a name:
 *       the '<' is literal and parsing resumes right after it (so an
 *       unterminated quote never swallows the ESI that follows);
 *   <esi:include> without src (or src=""), <esi:include ...> (or
 *     <esi:comment ...>) not followed by blanks and its end tag, an end
 *     tag without its start (</esi:remove>, </esi:include>,
 *     </esi:comment>): the whole tag is literal;
 *   <esi:remove> without </esi:remove>: the start tag is literal and what
 *     follows is processed as usual (what it was meant to hide is shown,
 *     rather than the rest of the page dropped);
 *   <esi:remove> inside <esi:remove>: removes do not nest; the first
 *     </esi:remove> ends the outer one, so the second </esi:remove> is a
 *     literal end tag without its start (both counted);
 *   <!--esi without a later -->, and <!--esi inside <!--esi: the 7 bytes
 *     "<!--esi" are literal; a wrapper whose --> turned out to be inside a
 *     tag or a remove is counted at the end of the page;
 *   "<ESI:", "</Esi:", "<!--ESI" and other spellings in another case: the
 *     bytes are literal (the element is not executed) and counted.
 *
 * Other <esi:...> elements (esi:try, esi:vars, esi:choose, esi:inline...)
 * are valid tags the subset does not implement: the tag alone is passed
 * through unchanged and counted in doc->unknown_tags, its name (with "/"
 * first for an end tag) kept in doc->first_unknown; what lies between an
 * unknown start and end tag is processed as usual.
 *
 * Errors (the page cannot be processed at all): more than
 * SC_ESI_MAX_INCLUDES includes, or an input over SC_ESI_MAX_INPUT bytes:
 * SC_EESILIMIT with *err saying which.
 *
 * The parser reads only inside [buf, buf + len) and takes linear time: a
 * tag ends at the next '<' at the latest, and the searches for </esi:remove>
 * and --> never go back over bytes already searched.
 *
 * ---- Walking a document (what the module does with it) -------------------
 *
 *   for (i = 0; i < doc->nodes->nelts; i++) {
 *       const sc_esi_node_t *n = &APR_ARRAY_IDX(doc->nodes, i,
 *                                               sc_esi_node_t);
 *       if (n->kind == SC_ESI_LITERAL) {
 *           send n->len bytes at n->data (not NUL-terminated);
 *       }
 *       else {                              SC_ESI_INCLUDE
 *           if sc_esi_src_local(n->src): fetch n->src (a subrequest);
 *           else refuse it (log) and count it as failed;
 *           if it failed and n->alt: the same with n->alt;
 *           if both failed: nothing when n->onerror_continue, else the
 *               whole response fails (before any byte is sent);
 *       }
 *   }
 *
 * The includes of a page are known before anything is sent (doc->nincludes
 * of them, in document order), so their keys can be fetched in one
 * multi-get first.  A document with no include whose literal_len equals
 * the input's length is the input unchanged (one literal node, or none
 * for an empty input): nothing to do on delivery.
 *
 * Invariants of a document sc_esi_parse or sc_esi_decode returns: no
 * literal node is empty, no two literal nodes are adjacent (so there are
 * at most nincludes + 1 of them), every src is 1..SC_ESI_MAX_ATTR bytes
 * without NUL, every alt is NULL or 1..SC_ESI_MAX_ATTR bytes without NUL.
 *
 * ---- The stored form ------------------------------------------------------
 *
 * Never a raw C struct: big-endian, explicit lengths, and sc_esi_decode()
 * checks every length against the buffer, so a truncated, foreign or
 * hostile record is SC_EBADESI, never a crash.
 *
 * Layout (format 1):
 *   magic "SCX" version(1)
 *   nnodes(4)                               at most SC_ESI_MAX_NODES
 *   nnodes times, in document order:
 *     kind(1) = SC_ESI_LITERAL  len(4) bytes        len >= 1
 *     kind(1) = SC_ESI_INCLUDE  flags(1) src_len(2) src alt_len(2) alt
 *         flags: SC_ESI_F_CONTINUE, no other bit; src_len 1..MAX_ATTR;
 *         alt_len 0 (no alt) ..MAX_ATTR; no NUL in src or alt
 * and nothing after the last node.  The encoding of a document is unique:
 * decoding then encoding gives back the same bytes.
 */
#ifndef SC_ESI_H
#define SC_ESI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>

/* A record that fails a check (decode), or a document that breaks the
 * invariants above (encode). */
#define SC_EBADESI (APR_OS_START_USERERR + 1710)
/* A page over the parser's limits: too many includes, too large. */
#define SC_EESILIMIT (APR_OS_START_USERERR + 1711)

#define SC_ESI_FORMAT 1

#define SC_ESI_MAX_INCLUDES 1000
/* Literals are never adjacent: one more than the includes at most. */
#define SC_ESI_MAX_NODES (2 * SC_ESI_MAX_INCLUDES + 1)
#define SC_ESI_MAX_ATTR 2048 /* bytes of an attribute value (src, alt) */
#define SC_ESI_MAX_ATTRS 8   /* attributes in one tag */
#define SC_ESI_MAX_NAME 32   /* bytes of an element or attribute name */
#define SC_ESI_MAX_TAG 8192  /* bytes of one tag, '<' to '>' */
#define SC_ESI_MAX_INPUT 0xffffffffu /* a literal's length is 32 bits */

/* flags of an include in the stored form */
#define SC_ESI_F_CONTINUE 0x01 /* onerror="continue" */

typedef enum {
    SC_ESI_LITERAL = 1, /* bytes sent as they are */
    SC_ESI_INCLUDE = 2  /* a fragment to fetch */
} sc_esi_kind_t;

typedef struct {
    sc_esi_kind_t kind;
    /* SC_ESI_LITERAL: len bytes (may hold NUL, not NUL-terminated) */
    const char *data;
    apr_size_t len;
    /* ... its deflate piece (sc_codec.h), or NULL: not in the stored form
     * (the entry keeps an ESI page's pieces, sc_entry.h format 4) */
    const char *piece;
    apr_size_t piece_len;
    /* SC_ESI_INCLUDE: NUL-terminated, as written in the page */
    const char *src;
    const char *alt; /* NULL: none */
    int onerror_continue;
} sc_esi_node_t;

typedef struct {
    apr_array_header_t *nodes; /* of sc_esi_node_t, in document order */
    int nincludes;             /* SC_ESI_INCLUDE nodes */
    apr_size_t literal_len;    /* bytes of all literal nodes */

    /* What the parser passed through (see above), for one log line; all
     * zero/NULL in a decoded document: the record holds only what delivery
     * needs. */
    apr_uint32_t unknown_tags;     /* other <esi:...> tags (saturates) */
    const char *first_unknown;     /* e.g. "esi:try", "/esi:try" */
    apr_uint32_t malformed;        /* constructs passed through (saturates) */
    const char *first_malformed;   /* why, a static string */
    apr_size_t first_malformed_at; /* its offset in the input */
} sc_esi_doc_t;

/* Parse len bytes of a page.  On success *doc is a document allocated in
 * p, self-contained: its literals are copies, buf may go.  SC_EESILIMIT
 * (with *err set, *doc NULL) when the page is over the limits. */
apr_status_t sc_esi_parse(apr_pool_t *p, const char *buf, apr_size_t len,
                          sc_esi_doc_t **doc, const char **err);

/* Is src an include the module may fetch: a same-origin local path?
 * 1 when it is at most SC_ESI_MAX_ATTR bytes, starts with one '/' (not
 * "//", so no scheme, no host and no relative path), holds no byte <= 0x20
 * (control, space), no DEL, no backslash and no '#' (a fragment means nothing
 * to a subrequest), and its path (what comes before the first '?') has only
 * well-formed %XX escapes, none of them a control byte, DEL, '/' or '\',
 * and no ".." segment once %2e is read as '.' and anything from a ';' (or
 * %3b) on is cut off the segment ("..;x" is ".." to Tomcat).  Else 0. */
int sc_esi_src_local(const char *src);

/* The stored form of doc, allocated in p.  SC_EBADESI when doc breaks the
 * invariants above (a parsed document never does). */
apr_status_t sc_esi_encode(apr_pool_t *p, const sc_esi_doc_t *doc, char **bytes,
                           apr_size_t *len);

/* Decode a stored form.  src and alt are copied into p; literal data
 * points into buf, which must live as long as the document. */
apr_status_t sc_esi_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                           sc_esi_doc_t **doc);

#endif
