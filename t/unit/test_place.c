/*
 * test_place.c: placement of a URL's keys (src/sc_place.h) against the
 * vectors in t/unit/place_vectors.txt, computed from the rule in
 * sc_place.h by t/unit/gen_vectors.py (not from the C code); the Python
 * package checks the same file.
 */
#include "unit.h"
#include "sc_place.h"

#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLACE_VECTORS "t/unit/place_vectors.txt"

static void test_place_vectors_match(void **state)
{
    apr_pool_t *p = unit_pool(state);
    FILE *fp = fopen(PLACE_VECTORS, "r");
    char line[4096];
    int checked = 0;

    if (!fp) {
        fail_msg("cannot open %s (run from the repo root)", PLACE_VECTORS);
    }
    while (fgets(line, sizeof(line), fp)) {
        char *servers, *group, *index, *last, *tok;
        const char *names[16];
        int n = 0;

        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        servers = apr_strtok(line, "\t", &last);
        group = apr_strtok(NULL, "\t", &last);
        index = apr_strtok(NULL, "\t", &last);
        assert_non_null(index);
        for (tok = apr_strtok(apr_pstrdup(p, servers), " ", &last); tok;
             tok = apr_strtok(NULL, " ", &last)) {
            names[n++] = tok;
        }
        assert_int_equal(sc_place(names, n, group, strlen(group)), atoi(index));
        checked++;
    }
    fclose(fp);
    assert_true(checked >= 40);
}

/* Adding a server moves only the groups the new server wins. */
static void test_place_adding_a_server_moves_only_its_own(void **state)
{
    const char *three[] = { "a:1", "b:1", "c:1" };
    const char *four[] = { "a:1", "b:1", "c:1", "d:1" };
    int i, moved = 0, to_new = 0;

    (void)state;
    for (i = 0; i < 1000; i++) {
        char g[32];
        int before, after;

        snprintf(g, sizeof(g), "group-%d", i);
        before = sc_place(three, 3, g, strlen(g));
        after = sc_place(four, 4, g, strlen(g));
        moved += before != after;
        to_new += after == 3;
    }
    assert_int_equal(moved, to_new);
    assert_in_range(to_new, 150, 350); /* about a quarter */
}

/* The order servers are listed in does not matter. */
static void test_place_ignores_the_order_of_servers(void **state)
{
    const char *ab[] = { "a:1", "b:1", "c:1" };
    const char *ba[] = { "c:1", "a:1", "b:1" };
    int i;

    (void)state;
    for (i = 0; i < 200; i++) {
        char g[32];

        snprintf(g, sizeof(g), "g%d", i);
        assert_string_equal(ab[sc_place(ab, 3, g, strlen(g))],
                            ba[sc_place(ba, 3, g, strlen(g))]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_place_vectors_match),
        UNIT_TEST(test_place_adding_a_server_moves_only_its_own),
        UNIT_TEST(test_place_ignores_the_order_of_servers),
    };

    return UNIT_RUN(tests);
}
