# smtpshim: a plain Makefile.  `make`, `make demo`, `make test`.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra $(if $(WERROR),-Werror)
CPPFLAGS += -D_GNU_SOURCE -MMD -MP
ALL_CFLAGS = $(CFLAGS) $(WARN) -fPIC -std=gnu11

PREFIX     ?= /usr/local
LIBEXECDIR ?= $(PREFIX)/libexec/smtpshim
PATHS := -DSMTPSHIM_PREFIX='"$(PREFIX)"' \
         -DSMTPSHIM_HELPER_DEFAULT='"$(LIBEXECDIR)/smtpshim-relay"'

# Each program is linked from its folders, no lists of files:
#   shim/ + shim/common/                the preloaded library (libc, libdl only)
#   tools/relay/ + tools/common/ + shim/common/     smtpshim-relay (OpenSSL)
#   tools/wrapper/ + tools/common/ + shim/common/   smtpshim
# shim/common/ is the core all three share (settings, rules, addresses, the
# shim-relay contract): only what the host process may carry.
CORE_SRC    := $(wildcard shim/common/*.c)
TOOLS_SRC   := $(wildcard tools/common/*.c)
SHIM_SRC    := $(wildcard shim/*.c)
RELAY_SRC   := $(wildcard tools/relay/*.c)
WRAPPER_SRC := $(wildcard tools/wrapper/*.c)
# Includes are written from the top of the tree ("tools/relay/tls.h").
CPPFLAGS += -I.

# The shim is built once per C library and architecture it must reach,
# where the one LD_PRELOAD value ".../$LIB/libsmtpshim.so" leads each
# program: glibc expands $LIB to lib/<triplet> for native programs, lib32
# for 32-bit ones on a multilib system (lib/i386-linux-gnu on a multiarch
# one); musl's loader takes the path literally, so a directory named "$LIB"
# (a link to the musl build) serves musl programs.  Every program of an
# exec chain finds its own build, and no loader meets the others' entry.
# The relay and the wrapper are native only.
TRIPLET   := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
MUSL_TRIPLET := $(subst -gnu,-musl,$(TRIPLET))
HAVE_M32  := $(shell echo 'int main(void){return 0;}' | $(CC) -m32 -x c - -o /dev/null 2>/dev/null && echo yes)
HAVE_MUSL := $(shell command -v musl-gcc >/dev/null 2>&1 && echo yes)

SHIM_NATIVE := shim/lib/$(TRIPLET)/libsmtpshim.so
SHIM_I386   := shim/lib32/libsmtpshim.so
SHIM_MUSL   := shim/lib/$(MUSL_TRIPLET)/libsmtpshim.so
LIB_TOKEN   := $$LIB
SHIM_MUSL_LINK := shim/$(LIB_TOKEN)
SHIMS := $(SHIM_NATIVE) $(if $(HAVE_M32),$(SHIM_I386) shim/lib/i386-linux-gnu/libsmtpshim.so) \
         $(if $(HAVE_MUSL),$(SHIM_MUSL) $(SHIM_MUSL_LINK))

RELAY   := tools/smtpshim-relay
WRAPPER := tools/smtpshim

all: $(SHIMS) shim/libsmtpshim.so $(RELAY) $(WRAPPER)

# Compiled-in paths: a different PREFIX rebuilds what uses them.
build/paths.stamp: FORCE
	@mkdir -p build
	@echo '$(PATHS)' | cmp -s - $@ || echo '$(PATHS)' > $@
FORCE:

# Objects go to build/<variant>/, mirroring the source tree.
build/native/%.o: %.c build/paths.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PATHS) $(ALL_CFLAGS) -c -o $@ $<
build/i386/%.o: %.c build/paths.stamp
	@mkdir -p $(dir $@)
	$(CC) -m32 $(CPPFLAGS) $(PATHS) $(ALL_CFLAGS) -c -o $@ $<
build/musl/%.o: %.c build/paths.stamp
	@mkdir -p $(dir $@)
	musl-gcc $(CPPFLAGS) $(PATHS) $(ALL_CFLAGS) -c -o $@ $<

objs = $(patsubst %.c,build/$(1)/%.o,$(2))

# The shim exports only its hooks and needs nothing but libc and libdl.
SHIM_FLAGS := -shared -Wl,--version-script=shim/exports.map -Wl,-z,defs
$(call objs,native,$(SHIM_SRC)) $(call objs,i386,$(SHIM_SRC)) $(call objs,musl,$(SHIM_SRC)): \
	ALL_CFLAGS += -fvisibility=hidden

$(SHIM_NATIVE): $(call objs,native,$(SHIM_SRC) $(CORE_SRC)) shim/exports.map
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_FLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) -ldl -lpthread
$(SHIM_I386): $(call objs,i386,$(SHIM_SRC) $(CORE_SRC)) shim/exports.map
	@mkdir -p $(dir $@)
	$(CC) -m32 $(SHIM_FLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) -ldl -lpthread
$(SHIM_MUSL): $(call objs,musl,$(SHIM_SRC) $(CORE_SRC)) shim/exports.map
	@mkdir -p $(dir $@)
	musl-gcc $(SHIM_FLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^)
$(SHIM_MUSL_LINK): | $(SHIM_MUSL)
	ln -sfn lib/$(MUSL_TRIPLET) '$@'

shim/lib/i386-linux-gnu/libsmtpshim.so: $(SHIM_I386)
	@mkdir -p $(dir $@)
	ln -sf ../../lib32/libsmtpshim.so $@

# For a plain LD_PRELOAD=.../shim/libsmtpshim.so by hand.
shim/libsmtpshim.so: $(SHIM_NATIVE)
	ln -sf lib/$(TRIPLET)/libsmtpshim.so $@

# smtpshim's own programs carry the mark that keeps a preloaded shim inert
# in them (tools/common/own_program.c).
OWN_PROGRAM := -Wl,--export-dynamic-symbol=smtpshim_own_program

$(RELAY): $(call objs,native,$(RELAY_SRC) $(TOOLS_SRC) $(CORE_SRC))
	$(CC) $(LDFLAGS) $(OWN_PROGRAM) -o $@ $^ -lssl -lcrypto

$(WRAPPER): $(call objs,native,$(WRAPPER_SRC) $(TOOLS_SRC) $(CORE_SRC))
	$(CC) $(LDFLAGS) $(OWN_PROGRAM) -o $@ $^

# Unit tests: one program per file in tests/unit, linked with the objects
# of the code under test.  Each program's objects are one archive (the
# relay's without its main), so a test takes from them what it calls and
# what that calls in turn, and no test keeps a list of files.
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,build/unit/%,$(UNIT_SRC))
UNIT_LIBS := build/unit/librelay.a build/unit/libshim.a build/unit/libcommon.a
build/unit/librelay.a: $(call objs,native,$(filter-out tools/relay/main.c,$(RELAY_SRC)) $(TOOLS_SRC))
build/unit/libshim.a: $(call objs,native,$(SHIM_SRC))
build/unit/libcommon.a: $(call objs,native,$(CORE_SRC))
$(UNIT_LIBS):
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^
build/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(UNIT_LIBS)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -pthread -o $@ $< $(UNIT_LIBS)

unit: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

# Fuzzing the parsers that read network and config input with clang's
# libFuzzer: `make fuzz` (FUZZ_SECONDS each, longer by hand); `make test`
# runs a short round over the checked-in corpus.
FUZZ_SECONDS ?= 10
FUZZ_SRC := $(CORE_SRC) tools/relay/smtp_reply.c tools/relay/sasl.c tools/relay/filter.c tools/relay/filter_content.c tools/relay/log.c tools/relay/session.c tools/relay/net.c tools/relay/zero.c
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(wildcard tests/unit/*.h tools/relay/*.h shim/common/*.h)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -I. -std=gnu11 -o $@ $< $(FUZZ_SRC)

fuzz: $(FUZZ_BIN)
	@tests/run-fuzz $(FUZZ_SECONDS) $(FUZZ_BIN)

# Benchmarks against a native TLS client and stunnel (needs root; about five
# minutes; bench/run installs stunnel4 when it is missing): `make bench`,
# or bench/run --quick for a smoke test.
bench: all
	bench/run

# The relay again, under AddressSanitizer and UndefinedBehaviorSanitizer, for
# a second run of the integration tests.  (The shim lives in programs not
# built with sanitizers; valgrind watches it instead: test_memory.py.)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
build/asan/%.o: %.c build/paths.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(PATHS) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<
build/asan/smtpshim-relay: $(call objs,asan,$(RELAY_SRC) $(TOOLS_SRC) $(CORE_SRC) tests/sanitize/report_to.c)
	$(CC) $(SAN_FLAGS) $(LDFLAGS) $(OWN_PROGRAM) -o $@ $^ -lssl -lcrypto

sanitize: all build/asan/smtpshim-relay
	tests/run-sanitized

deps:
	@tests/install-deps

# test and demo install first, then start make afresh: which variants can
# be built (HAVE_M32, HAVE_MUSL) is decided when the Makefile is read, and
# must see the compilers deps has just installed.
test: deps
	@$(MAKE) --no-print-directory all unit fuzz sanitize integration
demo: deps
	@$(MAKE) --no-print-directory all
	tests/netns-run /usr/bin/python3 tests/demo.py

# -rs: every skipped test and why, listed at the end.  The sanitized run
# has the relay servers (the default); this one a relay per connection, so
# both paths pass every test.
PYTEST := /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider
integration: all
	SMTPSHIM_RELAY_SERVER=no tests/netns-run $(PYTEST) tests/integration

# The fault run with 500 messages (several minutes; `make test` runs it
# with 48): FAULT_MESSAGES and FAULT_SEED change it.
FAULT_MESSAGES ?= 500
FAULT_SEED ?= 7
faults: all
	SMTPSHIM_FAULT_MESSAGES=$(FAULT_MESSAGES) SMTPSHIM_FAULT_SEED=$(FAULT_SEED) \
		tests/netns-run $(PYTEST) tests/integration/test_faults_lose_no_mail.py

# make install [DESTDIR=] [PREFIX=/usr/local]: the wrapper in bin/, the relay
# in libexec/, each shim build where glibc's $LIB (or musl's loader) finds it.
install: all
	install -D -m 755 $(WRAPPER) $(DESTDIR)$(PREFIX)/bin/smtpshim
	install -D -m 755 $(RELAY) $(DESTDIR)$(LIBEXECDIR)/smtpshim-relay
	install -D -m 755 $(SHIM_NATIVE) $(DESTDIR)$(PREFIX)/lib/$(TRIPLET)/libsmtpshim.so
	$(if $(HAVE_M32),install -D -m 755 $(SHIM_I386) $(DESTDIR)$(PREFIX)/lib32/libsmtpshim.so)
	$(if $(HAVE_M32),install -D -m 755 $(SHIM_I386) $(DESTDIR)$(PREFIX)/lib/i386-linux-gnu/libsmtpshim.so)
	$(if $(HAVE_MUSL),install -D -m 755 $(SHIM_MUSL) $(DESTDIR)$(PREFIX)/lib/$(MUSL_TRIPLET)/libsmtpshim.so)
	$(if $(HAVE_MUSL),ln -sfn lib/$(MUSL_TRIPLET) '$(DESTDIR)$(PREFIX)/$(LIB_TOKEN)')
	install -D -m 644 docs/smtpshim.1 $(DESTDIR)$(PREFIX)/share/man/man1/smtpshim.1
	install -D -m 644 docs/smtpshim.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/smtpshim.conf.5

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/smtpshim $(DESTDIR)$(LIBEXECDIR)/smtpshim-relay \
		$(DESTDIR)$(PREFIX)/lib/$(TRIPLET)/libsmtpshim.so $(DESTDIR)$(PREFIX)/lib32/libsmtpshim.so \
		$(DESTDIR)$(PREFIX)/lib/i386-linux-gnu/libsmtpshim.so \
		$(DESTDIR)$(PREFIX)/lib/$(MUSL_TRIPLET)/libsmtpshim.so '$(DESTDIR)$(PREFIX)/$(LIB_TOKEN)' \
		$(DESTDIR)$(PREFIX)/share/man/man1/smtpshim.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/smtpshim.conf.5

clean:
	rm -rf build shim/lib shim/lib32 '$(SHIM_MUSL_LINK)' shim/libsmtpshim.so $(RELAY) $(WRAPPER)

.PHONY: all unit fuzz bench sanitize deps test integration faults demo install uninstall clean FORCE
-include $(shell find build -name '*.d' 2>/dev/null)
