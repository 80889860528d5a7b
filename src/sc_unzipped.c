/*
 * sc_unzipped.c: a child's recently decoded bodies (sc_unzipped.h).
 */
#include "sc_unzipped.h"
#include "sc_codec.h"

#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <stdlib.h>
#include <string.h>

/* One decoded body: its output, then the gzip member it came from. */
typedef struct {
    volatile apr_uint32_t refs;  /* the slot's and the buckets' */
    volatile apr_uint32_t taken; /* 1: taken since kept or passed over */
    apr_size_t in_len, out_len;
    const char *in;
    char out[];
} body_t;

/* A bucket's hold on a body (shared by its copies and splits). */
typedef struct {
    apr_bucket_refcount refcount;
    body_t *body;
} hold_t;

static body_t *slots[SC_UNZIPPED_SLOTS];
static apr_size_t budget; /* of the kept bodies and their gzip forms */
static apr_size_t kept;   /* what the slots hold of it (under the lock) */
static void (*tell_kept)(apr_size_t kept);
#if APR_HAS_THREADS
static apr_thread_mutex_t *lock;
#else
static int lock; /* a child of one thread needs none: "made" */
#endif

static void release(body_t *body)
{
    if (apr_atomic_dec32(&body->refs) == 0) {
        free(body);
    }
}

static void hold_destroy(void *data)
{
    hold_t *h = data;

    if (apr_bucket_shared_destroy(h)) {
        release(h->body);
        apr_bucket_free(h);
    }
}

static apr_status_t hold_read(apr_bucket *b, const char **str, apr_size_t *len,
                              apr_read_type_e block)
{
    hold_t *h = b->data;

    (void)block;
    *str = h->body->out + b->start;
    *len = b->length;
    return APR_SUCCESS;
}

/* The body lives as long as a bucket holds it: nothing to set aside. */
const apr_bucket_type_t sc_unzipped_type = { "SHAREDCACHE_DECODED",
                                             5,
                                             APR_BUCKET_DATA,
                                             hold_destroy,
                                             hold_read,
                                             apr_bucket_setaside_noop,
                                             apr_bucket_shared_split,
                                             apr_bucket_shared_copy };

static apr_bucket *bucket_of(body_t *body, apr_bucket_alloc_t *list)
{
    hold_t *h = apr_bucket_alloc(sizeof(*h), list);
    apr_bucket *b = apr_bucket_alloc(sizeof(*b), list);

    h->body = body;
    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = list;
    b = apr_bucket_shared_make(b, h, 0, body->out_len);
    b->type = &sc_unzipped_type;
    return b;
}

/* What a kept body costs of the budget. */
static apr_size_t cost(const body_t *body)
{
    return body->out_len + body->in_len;
}

apr_status_t sc_unzipped_init(apr_pool_t *p, apr_size_t size)
{
    int i;

    /* (a child calls this once, before its threads start) */
    for (i = 0; i < SC_UNZIPPED_SLOTS; i++) {
        if (slots[i]) {
            release(slots[i]);
            slots[i] = NULL;
        }
    }
    kept = 0;
    budget = size;
#if APR_HAS_THREADS
    lock = NULL;
    if (size == 0) {
        return APR_SUCCESS;
    }
    return apr_thread_mutex_create(&lock, APR_THREAD_MUTEX_DEFAULT, p);
#else
    (void)p;
    lock = size > 0;
    return APR_SUCCESS;
#endif
}

void sc_unzipped_on_kept(void (*tell)(apr_size_t kept))
{
    tell_kept = tell;
}

static void enter(void)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(lock);
#endif
}

static void leave(void)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(lock);
#endif
}

/* The slot of a gzip member: by its trailer's CRC of the body. */
static body_t **slot_of(const char *in, apr_size_t len)
{
    const unsigned char *t = (const unsigned char *)in + len
                             - SC_CODEC_GZIP_TAIL;
    apr_uint32_t crc = (apr_uint32_t)t[0] | (apr_uint32_t)t[1] << 8
                       | (apr_uint32_t)t[2] << 16 | (apr_uint32_t)t[3] << 24;

    return &slots[crc % SC_UNZIPPED_SLOTS];
}

/* Whether a kept body may be let go for a newcomer: one not taken since
 * it was kept or last passed over may; one taken is passed over (marked
 * as not taken) and stays.  A page read once (a crawler's walk) then
 * never displaces one read again and again, and a newcomer decoded again
 * while a kept body was not taken takes its room: a second chance, as a
 * CLOCK page cache gives. */
static int let_go(body_t *o)
{
    if (apr_atomic_read32(&o->taken)) {
        apr_atomic_set32(&o->taken, 0);
        return 0;
    }
    return 1;
}

/* Keep body (its gzip form copied) in its slot: when that slot's body
 * and those of the slots after it that may be let go make room for it
 * within the budget (those are let go, each freed by its last bucket);
 * otherwise body is decoded for its hit only. */
static void keep(body_t *body, body_t **slot)
{
    int at = (int)(slot - slots), mark[SC_UNZIPPED_SLOTS];
    body_t *gone[SC_UNZIPPED_SLOTS];
    apr_size_t room;
    int i, n = 0;

    enter();
    if (*slot && !let_go(*slot)) {
        leave();
        return;
    }
    room = budget - kept;
    for (i = 0; i < SC_UNZIPPED_SLOTS && (i == 0 || room < cost(body)); i++) {
        int k = (at + i) % SC_UNZIPPED_SLOTS;
        if (slots[k] && (i == 0 || let_go(slots[k]))) {
            room += cost(slots[k]);
            mark[n++] = k;
        }
    }
    if (room < cost(body)) {
        leave();
        return;
    }
    for (i = 0; i < n; i++) {
        gone[i] = slots[mark[i]];
        slots[mark[i]] = NULL;
        kept -= cost(gone[i]);
    }
    body->refs = 2; /* the slot's too */
    *slot = body;
    kept += cost(body);
    if (tell_kept) {
        tell_kept(kept);
    }
    leave();
    for (i = 0; i < n; i++) {
        release(gone[i]);
    }
}

apr_status_t sc_unzipped_bucket(const char *in, apr_size_t len,
                                apr_size_t expect, apr_bucket_alloc_t *list,
                                apr_bucket **b, int *reused)
{
    body_t **slot = NULL, *body = NULL;
    apr_status_t rv;

    *b = NULL;
    *reused = 0;
    if (lock && expect <= SC_UNZIPPED_MAX
        && len >= SC_CODEC_GZIP_HEAD + SC_CODEC_GZIP_TAIL) {
        slot = slot_of(in, len);
        enter();
        body = *slot;
        if (body) {
            apr_atomic_inc32(&body->refs);
        }
        leave();
    }
    if (body && body->in_len == len && body->out_len == expect
        && memcmp(body->in, in, len) == 0) {
        if (!apr_atomic_read32(&body->taken)) {
            apr_atomic_set32(&body->taken, 1);
        }
        *b = bucket_of(body, list);
        *reused = 1;
        return APR_SUCCESS;
    }
    if (body) {
        release(body);
    }
    if (expect > SC_UNZIPPED_MAX) {
        /* decoded per hit, never kept: no larger a buffer than a store
         * may keep (the caller's bound) */
        char *plain;

        rv = sc_codec_gunzip(in, len, expect, &plain);
        if (rv == APR_SUCCESS) {
            *b = apr_bucket_heap_create(plain, expect, free, list);
        }
        return rv;
    }
    /* kept only within the budget: the gzip form is copied for that */
    if (slot && expect + len > budget) {
        slot = NULL;
    }
    body = malloc(sizeof(*body) + expect + (slot ? len : 0));
    if (!body) {
        return APR_ENOMEM;
    }
    rv = sc_codec_gunzip_into(in, len, body->out, expect);
    if (rv != APR_SUCCESS) {
        free(body);
        return rv;
    }
    body->out_len = expect;
    body->in = NULL;
    body->in_len = 0;
    body->refs = 1; /* the bucket's */
    body->taken = 0;
    if (slot) {
        memcpy(body->out + expect, in, len);
        body->in = body->out + expect;
        body->in_len = len;
        keep(body, slot);
    }
    *b = bucket_of(body, list);
    return APR_SUCCESS;
}
