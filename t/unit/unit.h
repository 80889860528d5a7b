/*
 * unit.h: helpers shared by the cmocka unit tests of the pure files.
 *
 * Every test gets a fresh APR pool in *state (UNIT_TEST), destroyed after
 * it; APR itself is initialised once per test binary (UNIT_RUN).  Tests
 * are run from the repository root (make unit).
 */
#ifndef SC_UNIT_H
#define SC_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

static inline int unit_apr_init(void **state)
{
    (void)state;
    return apr_initialize() == APR_SUCCESS ? 0 : -1;
}

static inline int unit_apr_term(void **state)
{
    (void)state;
    apr_terminate();
    return 0;
}

static inline int unit_pool_setup(void **state)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return -1;
    }
    *state = p;
    return 0;
}

static inline int unit_pool_teardown(void **state)
{
    apr_pool_destroy(*state);
    return 0;
}

/* The test's pool. */
static inline apr_pool_t *unit_pool(void **state)
{
    return *state;
}

/* An array of const char * from a NULL-terminated argument list. */
static inline apr_array_header_t *unit_strs(apr_pool_t *p, ...)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const char *s;
    va_list ap;

    va_start(ap, p);
    while ((s = va_arg(ap, const char *)) != NULL) {
        APR_ARRAY_PUSH(a, const char *) = s;
    }
    va_end(ap);
    return a;
}

#define UNIT_TEST(f) \
    cmocka_unit_test_setup_teardown(f, unit_pool_setup, unit_pool_teardown)

#define UNIT_RUN(tests) \
    cmocka_run_group_tests(tests, unit_apr_init, unit_apr_term)

#endif
