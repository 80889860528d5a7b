# mod_sharedcache: build, install, test, demo.  See README.md.

APXS      ?= apxs
PROVE     ?= prove
CC        ?= cc
MPMS      ?= prefork event

SRC        = mod_sharedcache.c src/sc_config.c src/sc_key.c src/sc_entry.c \
             src/sc_lookup.c src/sc_status.c \
             src/sc_gen.c src/sc_invalidate.c \
             src/sc_policy.c src/sc_store.c src/sc_handler.c src/sc_capture.c
HDRS       = $(wildcard src/*.h)
PURE       = src/sc_key.c src/sc_entry.c src/sc_policy.c
WARN       = -Wall -Wextra -Werror
comma     := ,
LIBS       = -lmemcached -lmemcachedutil
MODULE     = .libs/mod_sharedcache.so

APR_CFLAGS = $(shell apr-1-config --cflags --cppflags --includes 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_LIBS   = $(shell apu-1-config --link-ld --libs 2>/dev/null) \
             $(shell apr-1-config --link-ld --libs 2>/dev/null)
UNIT_TESTS = $(patsubst t/unit/%.c,t/unit/bin/%,$(wildcard t/unit/test_*.c))

MODS_AVAILABLE ?= /etc/apache2/mods-available

.PHONY: all install test unit prove pytest demo demo-stop deps clean

CTL        = tools/sharedcachectl
PYTHON     = /usr/bin/python3

all: $(MODULE) $(CTL)

$(MODULE): $(SRC) $(HDRS)
	$(APXS) -c -n sharedcache $(addprefix -Wc$(comma),$(WARN)) -Wc,-std=gnu99 \
	    $(LIBS) -o mod_sharedcache.la $(SRC)

# sharedcachectl links the same pure key/entry code and memcached layer.
$(CTL): tools/sharedcachectl.c $(PURE) src/sc_store.c src/sc_gen.c $(HDRS)
	$(CC) $(WARN) -g -O2 -Isrc $(APR_CFLAGS) -o $@ tools/sharedcachectl.c \
	    $(PURE) src/sc_store.c src/sc_gen.c $(LIBS) $(APR_LIBS)

install: $(MODULE) $(CTL)
	$(APXS) -i -n sharedcache mod_sharedcache.la
	install -m 644 conf/sharedcache.load conf/sharedcache.conf \
	    $(MODS_AVAILABLE)/
	install -m 755 $(CTL) /usr/local/bin/

# C unit tests of the pure files (cmocka).
t/unit/bin/%: t/unit/%.c $(PURE) $(HDRS) t/unit/unit.h
	@mkdir -p t/unit/bin
	$(CC) $(WARN) -g -O1 -Isrc $(APR_CFLAGS) -o $@ $< $(PURE) \
	    -lcmocka $(APR_LIBS)

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t || exit 1; done

# The suite against a real Apache and memcached, once per MPM.
prove: $(MODULE) $(CTL)
	@for mpm in $(MPMS); do \
	    echo "== prove under the $$mpm MPM"; \
	    SC_MPM=$$mpm $(PROVE) -I t/lib t/ || exit 1; \
	done

# The Python package's tests (Debian's python3, the one with Django).
pytest:
	$(PYTHON) -m unittest discover -s t/python -t . -v

test: unit pytest prove

deps:
	./tools/install-deps

demo: deps $(MODULE)
	./demo/run

demo-stop:
	./demo/stop

clean:
	rm -rf .libs *.la *.lo *.o *.slo src/*.lo src/*.o src/*.slo \
	    src/.libs t/unit/bin $(CTL)
