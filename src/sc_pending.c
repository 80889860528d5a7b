/*
 * sc_pending.c: the shared table of invalidations to try again (see
 * sc_pending.h).
 */
#include "sc_pending.h"

#include <apr_atomic.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <string.h>

#define KEY_MAX 160 /* a counter key: prefix + 45 */

enum { FREE, WRITING, WAITING, TRYING };

typedef struct {
    volatile apr_uint32_t state;
    apr_uint32_t tries;
    char url, hard;
    char key[KEY_MAX];
} slot_t;

typedef struct {
    volatile apr_uint32_t count;
    slot_t slots[SC_PENDING_SLOTS];
} table_t;

static table_t *table;

apr_status_t sc_pending_init(apr_pool_t *pconf)
{
    apr_shm_t *shm;
    apr_status_t rv = apr_shm_create(&shm, sizeof(table_t), NULL, pconf);

    if (rv != APR_SUCCESS) {
        table = NULL;
        return rv;
    }
    table = apr_shm_baseaddr_get(shm);
    memset((void *)table, 0, sizeof(*table));
    return APR_SUCCESS;
}

int sc_pending_count(void)
{
    return table ? (int)apr_atomic_read32(&table->count) : 0;
}

int sc_pending_has(const char *key)
{
    int i;

    for (i = 0; table && i < SC_PENDING_SLOTS; i++) {
        slot_t *s = &table->slots[i];
        apr_uint32_t st = apr_atomic_read32(&s->state);

        if ((st == WAITING || st == TRYING) && !strcmp(s->key, key)) {
            return 1;
        }
    }
    return 0;
}

int sc_pending_add(const char *key, int url, int hard)
{
    int i;

    if (!table || strlen(key) >= KEY_MAX) {
        return 0;
    }
    if (sc_pending_has(key)) {
        return 1; /* already waiting (hard or not: both miss) */
    }
    for (i = 0; i < SC_PENDING_SLOTS; i++) {
        slot_t *s = &table->slots[i];

        if (apr_atomic_cas32(&s->state, WRITING, FREE) == FREE) {
            apr_cpystrn(s->key, key, KEY_MAX);
            s->url = (char)url;
            s->hard = (char)hard;
            s->tries = 0;
            apr_atomic_inc32(&table->count);
            apr_atomic_set32(&s->state, WAITING);
            return 1;
        }
    }
    return 0;
}

int sc_pending_retry(int (*try)(void *data, const char *key, int url, int hard),
                     void *data)
{
    int i, given_up = 0;

    for (i = 0; table && i < SC_PENDING_SLOTS; i++) {
        slot_t *s = &table->slots[i];

        if (apr_atomic_cas32(&s->state, TRYING, WAITING) != WAITING) {
            continue; /* free, or another child tries it */
        }
        if (try(data, s->key, s->url, s->hard) != 0
            && ++s->tries < SC_PENDING_TRIES) {
            apr_atomic_set32(&s->state, WAITING);
            continue;
        }
        given_up += s->tries >= SC_PENDING_TRIES;
        apr_atomic_dec32(&table->count);
        apr_atomic_set32(&s->state, FREE);
    }
    return given_up;
}
