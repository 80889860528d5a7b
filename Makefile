# mod_sharedcache: build, install, test, demo.  See README.md.

APXS      ?= apxs
PROVE     ?= prove
CC        ?= cc
MPMS      ?= prefork event

# In the order a request meets them (README, "Layout").
SRC        = mod_sharedcache.c src/sc_config.c src/sc_config_words.c \
             src/sc_config_server.c src/sc_conftree.c src/sc_reads.c \
             src/sc_quickmethod.c src/sc_quickrules.c src/sc_quickroutes.c \
             src/sc_quickderive.c \
             src/sc_quickacts.c \
             src/sc_quickcheck.c src/sc_quickwarn.c src/sc_ttlcheck.c \
             src/sc_bypass.c src/sc_request.c src/sc_rules.c src/sc_derive.c \
             src/sc_keying.c src/sc_key.c src/sc_query.c src/sc_cookie.c src/sc_hint.c src/sc_local.c src/sc_ring.c src/sc_lookup.c src/sc_fallback.c \
             src/sc_place.c src/sc_store.c src/sc_store_ops.c src/sc_gen.c src/sc_entry.c \
             src/sc_codec.c src/sc_unzipped.c src/sc_coding.c \
             src/sc_esi.c src/sc_esi_form.c src/sc_lease.c \
             src/sc_serve.c src/sc_handler.c src/sc_refresh.c src/sc_quickprobe.c src/sc_revalidated.c \
             src/sc_copy_filters.c src/sc_snapshot.c src/sc_capture.c \
             src/sc_surrogate.c src/sc_include.c src/sc_incdirect.c src/sc_incearly.c src/sc_assemble.c src/sc_resp_vary.c src/sc_parity.c src/sc_before.c src/sc_decide.c src/sc_fragment.c src/sc_policy.c src/sc_httpdate.c src/sc_write.c \
             src/sc_invalidate.c src/sc_pending.c src/sc_status.c src/sc_status_page.c \
             src/sc_vhoststat.c src/sc_origin.c src/sc_verdict.c
HDRS       = $(wildcard src/*.h) src/sc_directives.def
PURE       = src/sc_key.c src/sc_entry.c src/sc_codec.c src/sc_policy.c \
             src/sc_httpdate.c src/sc_query.c src/sc_cookie.c \
             src/sc_place.c src/sc_esi.c src/sc_esi_form.c src/sc_ring.c \
             src/sc_unzipped.c src/sc_reads.c
WARN       = -Wall -Wextra -Werror
comma     := ,
# zlib, libdeflate (gzip decoding: half zlib's time) and libbrotli's encoder:
# stored bodies are kept compressed (sc_codec)
CODEC_LIBS = -lz -lbrotlienc -ldeflate
LIBS       = -lmemcached -lmemcachedutil $(CODEC_LIBS)
MODULE     = .libs/mod_sharedcache.so

APR_CFLAGS = $(shell apr-1-config --cflags --cppflags --includes 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apu-1-config --link-ld --libs 2>/dev/null) \
             $(shell apr-1-config --link-ld --libs 2>/dev/null) $(CODEC_LIBS)
UNIT_TESTS = $(patsubst t/unit/%.c,t/unit/bin/%,$(wildcard t/unit/test_*.c))

# Where make install puts things (each can be given: make install BINDIR=...).
MODS_AVAILABLE ?= /etc/apache2/mods-available
MODS_ENABLED   ?= $(MODS_AVAILABLE)/../mods-enabled
MODULES_DIR    ?= $(shell $(APXS) -q LIBEXECDIR)
BINDIR         ?= /usr/local/bin
MANDIR         ?= /usr/local/share/man

.PHONY: all install uninstall test check unit prove prove-cluster pytest \
        demo demo-stop deps deb deb-deps clean callgraph format

CTL        = tools/sharedcachectl
PYTHON     = /usr/bin/python3

all: $(MODULE) $(CTL)

$(MODULE): $(SRC) $(HDRS)
	$(APXS) -c -n sharedcache $(addprefix -Wc$(comma),$(WARN)) -Wc,-std=gnu99 \
	    $(LIBS) -o mod_sharedcache.la $(SRC)

# sharedcachectl (tools/ctl/, one file per command) links the same pure
# key/entry code and memcached layer.
CTL_SRC    = $(wildcard tools/ctl/*.c)

$(CTL): $(CTL_SRC) tools/ctl/ctl.h $(PURE) src/sc_store.c src/sc_store_ops.c src/sc_gen.c $(HDRS)
	$(CC) $(WARN) -g -O2 -Isrc $(APR_CFLAGS) -o $@ $(CTL_SRC) \
	    $(PURE) src/sc_store.c src/sc_store_ops.c src/sc_gen.c $(LIBS) $(APR_LIBS)

# make install: the module (no libtool .la), sharedcachectl and its manual
# page, and the module's .load and .conf: a .load or .conf that differs
# from this version's (edited) is kept, this version's is written beside it
# as .dist.  make uninstall removes them again, but a .load or .conf that
# differs from this version's.  Neither touches a Debian package's files.
NOT_PACKAGED = if dpkg -S $(MODULES_DIR)/mod_sharedcache.so >/dev/null 2>&1; \
    then echo "$@: the module belongs to a Debian package:" \
        "apt-get remove libapache2-mod-sharedcache first" >&2; exit 1; fi

install: $(MODULE) $(CTL)
	@$(NOT_PACKAGED)
	install -d $(MODULES_DIR) $(BINDIR) $(MANDIR)/man1 $(MODS_AVAILABLE)
	install -m 644 $(MODULE) $(MODULES_DIR)/mod_sharedcache.so
	rm -f $(MODULES_DIR)/mod_sharedcache.la
	install -m 755 $(CTL) $(BINDIR)/sharedcachectl
	install -m 644 docs/sharedcachectl.1 $(MANDIR)/man1/sharedcachectl.1
	@for f in sharedcache.load sharedcache.conf; do \
	    dst=$(MODS_AVAILABLE)/$$f; \
	    if [ ! -e $$dst ] || cmp -s conf/$$f $$dst; then \
	        install -m 644 conf/$$f $$dst && rm -f $$dst.dist \
	            && echo "installed $$dst" || exit 1; \
	    else \
	        install -m 644 conf/$$f $$dst.dist || exit 1; \
	        echo "kept $$dst: it differs from this version's (edited);" \
	            "this version's is $$dst.dist: merge what you need, then" \
	            "remove the .dist"; \
	    fi; \
	done

uninstall:
	@$(NOT_PACKAGED)
	@if [ -e $(MODS_ENABLED)/sharedcache.load ] \
	        || [ -L $(MODS_ENABLED)/sharedcache.load ]; then \
	    echo "$@: the module is enabled: a2dismod sharedcache and reload" \
	        "apache2 first" >&2; exit 1; fi
	rm -f $(MODULES_DIR)/mod_sharedcache.so $(MODULES_DIR)/mod_sharedcache.la \
	    $(BINDIR)/sharedcachectl $(MANDIR)/man1/sharedcachectl.1
	@for f in sharedcache.load sharedcache.conf; do \
	    dst=$(MODS_AVAILABLE)/$$f; \
	    rm -f $$dst.dist; \
	    if [ ! -e $$dst ]; then :; \
	    elif cmp -s conf/$$f $$dst; then \
	        rm -f $$dst && echo "removed $$dst"; \
	    else \
	        echo "kept $$dst: it differs from this version's (edited)"; \
	    fi; \
	done

# C unit tests of the pure files (cmocka).
t/unit/bin/%: t/unit/%.c $(PURE) $(HDRS) t/unit/unit.h
	@mkdir -p t/unit/bin
	$(CC) $(WARN) -g -O1 -Isrc $(APR_CFLAGS) -o $@ $< $(PURE) \
	    -lcmocka $(APR_LIBS)

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t || exit 1; done

# The suite against a real Apache and memcached, once per MPM.  A test that
# measures time says "# sc-test: alone" and runs by itself; the others run
# TESTJOBS at a time (SCTest::free_port never hands one port to two tests;
# they mostly wait, four keep two cores busy).
TESTJOBS  ?= 4
T_ALONE    = $(shell grep -l '^\# sc-test: alone' t/*.t)
T_SHARED   = $(filter-out $(T_ALONE),$(wildcard t/*.t))
# the shared tests, then $(1) one by one
prove_all  = $(PROVE) --timer -I t/lib -j$(TESTJOBS) $(T_SHARED) && \
             $(PROVE) --timer -I t/lib $(1)
# tests that build their memcached cluster themselves (no_extra): the
# cluster pass would run them again unchanged
T_OWN      = $(shell grep -l '^\# sc-test: own-cluster' t/*.t)

prove: $(MODULE) $(CTL)
	@for mpm in $(MPMS); do \
	    echo "== prove under the $$mpm MPM"; \
	    export SC_MPM=$$mpm; $(call prove_all,$(T_ALONE)) || exit 1; \
	done

# The suite once more with every memcached a test starts made a cluster of
# three (SC_EXTRA_MEMCACHED, t/lib/SCTest/Memcached.pm), under event.
prove-cluster: $(MODULE) $(CTL)
	@echo "== prove with three memcached servers per test (event MPM)"
	@export SC_EXTRA_MEMCACHED=2 SC_MPM=event; \
	    $(call prove_all,$(filter-out $(T_OWN),$(T_ALONE)))

# The Python package's tests (Debian's python3, the one with Django).
pytest:
	$(PYTHON) -m unittest discover -s t/python -t . -v

# On a fresh machine: install what is missing first, then build and test in
# a new make (the APR flags above are read when the Makefile is parsed).
test: deps
	@$(MAKE) --no-print-directory check

check: format unit sanitize callgraph pytest prove prove-cluster

# The C sources are formatted as .clang-format says (clang-format 14).
format:
	./tools/format-check -q

# The calls between the module's files form a DAG (src/sc_request.h).
OBJS       = $(join $(dir $(SRC)),$(addprefix .libs/,$(notdir $(SRC:.c=.o))))
callgraph: $(MODULE)
	./tools/callgraph-check $(OBJS)

# Development and tests, and what make deb needs (t/deb.t builds the
# packages): a server needs none of it (README, "Installing on Debian").
deps:
	./tools/install-deps

# What make deb needs: debian/control's Build-Depends.
deb-deps:
	./tools/install-deps --deb

# Debian packages (debian/): tools/build-deb runs dpkg-buildpackage in a
# copy of the tree under build/deb and puts libapache2-mod-sharedcache and
# python3-sharedcache in dist/.  Built again only when a file git knows
# changed (the version is debian/changelog's).
ifneq ($(filter deb,$(MAKECMDGOALS)),)
DEB_VERSION := $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH    := $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB_FILES   := dist/libapache2-mod-sharedcache_$(DEB_VERSION)_$(DEB_ARCH).deb \
               dist/python3-sharedcache_$(DEB_VERSION)_all.deb
DEB_INPUTS  := $(wildcard $(shell git ls-files -co --exclude-standard \
                                      2>/dev/null))
deb: $(DEB_FILES)

$(DEB_FILES) &: $(DEB_INPUTS)
	./tools/build-deb
endif

demo: deps $(MODULE)
	./demo/run

demo-stop:
	./demo/stop

clean:
	rm -rf .libs *.la *.lo *.o *.slo src/*.lo src/*.o src/*.slo \
	    src/.libs t/unit/bin $(CTL)

# ---------------------------------------------------------------------------
# Fuzzing and sanitizers (THREATS.md 29; see t/fuzz/README.md).
#
#   make fuzz [FUZZ_SECONDS=N]   libFuzzer targets of the pure files, N
#                                seconds each (skipped without clang's
#                                -fsanitize=fuzzer)
#   make fuzz-regress            each target once over its corpus and the
#                                reproducers in t/fuzz/crashes/
#   make fuzz-corpus             rewrite the seed corpora
#   make sanitize                the unit tests under ASan and UBSan

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_TARGETS  = fuzz_entry fuzz_policy fuzz_key fuzz_esi fuzz_reads
FUZZ_BIN      = t/fuzz/bin
FUZZ_WORK     = t/fuzz/work
FUZZ_SAN      = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_DEFS    ?=
FUZZ_CFLAGS   = -Wall -Wextra -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                $(FUZZ_DEFS)
FUZZ_BINS     = $(addprefix $(FUZZ_BIN)/,$(FUZZ_TARGETS))
FUZZ_PROBE    = mkdir -p $(FUZZ_BIN) && printf '%s\n' \
    '\#include <stddef.h>' '\#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
    '{ (void)d; (void)n; return 0; }' >$(FUZZ_BIN)/probe.c && \
    $(FUZZ_CC) $(FUZZ_SAN) -o $(FUZZ_BIN)/probe $(FUZZ_BIN)/probe.c \
    >/dev/null 2>&1
SAN_CC       ?= $(CC)
SAN_FLAGS     = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all
SAN_BIN       = t/fuzz/bin-san
SAN_TESTS     = $(patsubst t/unit/%.c,$(SAN_BIN)/%,$(wildcard t/unit/test_*.c))
SAN_ENV       = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-run fuzz-build fuzz-regress fuzz-corpus fuzz-clean \
        fuzz-force sanitize

# Rebuilt when the compiler or flags change (FUZZ_DEFS=-D...).
$(FUZZ_BIN)/flags: fuzz-force
	@mkdir -p $(FUZZ_BIN)
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ \
	    || echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' >$@

$(FUZZ_BINS): $(FUZZ_BIN)/%: t/fuzz/%.c t/fuzz/fuzz.h $(PURE) $(HDRS) \
              $(FUZZ_BIN)/flags
	@mkdir -p $(FUZZ_BIN)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc $(APR_CFLAGS) -o $@ $< $(PURE) \
	    $(APR_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	@if $(FUZZ_PROBE); then \
	    $(MAKE) --no-print-directory fuzz-run; \
	else \
	    echo "SKIP fuzz: $(FUZZ_CC) -fsanitize=fuzzer does not link here"; \
	fi

fuzz-run: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    echo "== $$t for $(FUZZ_SECONDS)s"; \
	    mkdir -p $(FUZZ_WORK)/$$t || exit 1; \
	    $(FUZZ_BIN)/$$t -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 -artifact_prefix=$(FUZZ_WORK)/$$t- \
	        $(FUZZ_WORK)/$$t t/fuzz/corpus/$$t >$(FUZZ_WORK)/$$t.log 2>&1; \
	    rc=$$?; \
	    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::average_exec_per_sec' \
	        $(FUZZ_WORK)/$$t.log; \
	    if [ $$rc -ne 0 ]; then \
	        fail=1; \
	        grep -E 'invariant failed|ERROR: (AddressSanitizer|libFuzzer)|runtime error|Test unit written' \
	            $(FUZZ_WORK)/$$t.log | head -n 5; \
	        echo "FAIL $$t: see $(FUZZ_WORK)/$$t.log"; \
	    fi; \
	done; exit $$fail

fuzz-regress: $(FUZZ_BINS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    for f in t/fuzz/corpus/$$t/* t/fuzz/crashes/$$t-*; do \
	        [ -f "$$f" ] || continue; \
	        if $(FUZZ_BIN)/$$t "$$f" >$(FUZZ_BIN)/regress.log 2>&1; then \
	            echo "ok   $$t $$f"; \
	        else \
	            echo "FAIL $$t $$f"; fail=1; \
	            grep -E 'invariant failed|ERROR: AddressSanitizer|runtime error' \
	                $(FUZZ_BIN)/regress.log | head -n 3; \
	        fi; \
	    done; \
	done; exit $$fail

fuzz-corpus: t/fuzz/gen_corpus.c $(PURE) $(HDRS)
	@mkdir -p $(FUZZ_BIN) $(addprefix t/fuzz/corpus/,$(FUZZ_TARGETS))
	$(CC) $(WARN) -g -Isrc $(APR_CFLAGS) -o $(FUZZ_BIN)/gen_corpus \
	    t/fuzz/gen_corpus.c $(PURE) $(APR_LIBS)
	$(FUZZ_BIN)/gen_corpus t/fuzz/corpus

$(SAN_BIN)/%: t/unit/%.c $(PURE) $(HDRS) t/unit/unit.h
	@mkdir -p $(SAN_BIN)
	$(SAN_CC) $(WARN) $(SAN_FLAGS) -Isrc $(APR_CFLAGS) -o $@ $< $(PURE) \
	    -lcmocka $(APR_LIBS)

sanitize: $(SAN_TESTS)
	@for t in $(SAN_TESTS); do echo "== $$t"; $(SAN_ENV) ./$$t || exit 1; done

fuzz-clean:
	rm -rf $(FUZZ_BIN) $(FUZZ_WORK) $(SAN_BIN)

clean: fuzz-clean
