/*
 * fuzz_reads.c: libFuzzer target for quick mode's reader of configured
 * variables, texts and ap_expr conditions (src/sc_reads.c).
 *
 * Input: an expression (up to its first NUL), then optionally a NUL and a
 * URL-only variable name.  Besides memory safety, two invariants:
 *   - the reader never reads less than the %{NAME}s of the text;
 *   - whatever follows it, an expression that starts with "-R" reads
 *     what a client is.
 * (That an operator *after* any text is seen does not hold, nor should
 * it: after "m-" or an open "/" httpd's own scanner reads a regex to the
 * next delimiter, "-" of "-R" among them, as the reader does.)
 */
#include "fuzz.h"

#include <apr_strings.h>

#include "sc_reads.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *f[2];
    const char *vars[2] = { NULL, NULL };
    const char *const *url_vars = NULL;
    sc_reads_t r, t;
    char *joined;

    fuzz_split(data, size, f, 2);
    if (f[1] && *f[1]) {
        vars[0] = f[1];
        url_vars = vars;
    }
    r = sc_reads_expr(f[0], url_vars);
    t = sc_reads_text(f[0], url_vars);
    FUZZ_CHECK(r >= t);
    FUZZ_CHECK(r <= SC_READS_IS);
    joined = apr_pstrcat(p, "-R '10.0.0.0/8' || ", f[0], NULL);
    FUZZ_CHECK(sc_reads_expr(joined, url_vars) == SC_READS_IS);
    (void)sc_reads_var(f[0], strlen(f[0]), url_vars);
    free(f[0]);
    free(f[1]);
    apr_pool_destroy(p);
    return 0;
}
