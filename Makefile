# smtpshim: a plain Makefile.  `make`, `make demo`, `make test`.

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra $(if $(WERROR),-Werror)
CPPFLAGS += -D_GNU_SOURCE -MMD -MP
ALL_CFLAGS = $(CFLAGS) $(WARN) -fPIC -std=gnu11

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib/smtpshim
LIBEXECDIR ?= $(PREFIX)/libexec/smtpshim
PATHS := -DSMTPSHIM_LIBDIR='"$(LIBDIR)"' -DSMTPSHIM_LIBEXECDIR='"$(LIBEXECDIR)"' \
         -DSMTPSHIM_HELPER_DEFAULT='"$(LIBEXECDIR)/smtpshim-relay"'

COMMON_SRC := $(wildcard shim/common/*.c)
SHIM_SRC   := $(wildcard shim/*.c)
RELAY_SRC  := $(wildcard tools/relay/*.c)
COMMON_OBJ := $(COMMON_SRC:.c=.o)
SHIM_OBJ   := $(SHIM_SRC:.c=.o)
RELAY_OBJ  := $(RELAY_SRC:.c=.o)

SHIM   := shim/libsmtpshim.so
RELAY  := tools/smtpshim-relay
WRAPPER := tools/smtpshim

all: $(SHIM) $(RELAY) $(WRAPPER)

%.o: %.c
	$(CC) $(CPPFLAGS) $(PATHS) $(ALL_CFLAGS) -c -o $@ $<

# The shim exports only its hooks and needs nothing but libc and libdl.
$(SHIM_OBJ): ALL_CFLAGS += -fvisibility=hidden
$(SHIM): $(SHIM_OBJ) $(COMMON_OBJ) shim/exports.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=shim/exports.map -Wl,-z,defs \
		-o $@ $(SHIM_OBJ) $(COMMON_OBJ) -ldl -lpthread

$(RELAY): $(RELAY_OBJ) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -lssl -lcrypto

$(WRAPPER): tools/smtpshim.o $(COMMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

# Unit tests: one program per file in tests/unit, linked with the code under test.
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,tests/unit/bin/%,$(UNIT_SRC))
tests/unit/bin/%: tests/unit/%.c tests/unit/check.h $(COMMON_OBJ) tools/relay/filter.o tools/relay/log.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(COMMON_OBJ) tools/relay/filter.o tools/relay/log.o

unit: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

deps:
	@tests/install-deps

test: deps all unit
	tests/netns-run /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

demo: deps all
	tests/netns-run /usr/bin/python3 tests/demo.py

clean:
	rm -f $(SHIM) $(RELAY) $(WRAPPER) shim/*.o shim/*.d shim/common/*.o shim/common/*.d \
		tools/*.o tools/*.d tools/relay/*.o tools/relay/*.d
	rm -rf tests/unit/bin

.PHONY: all unit deps test demo clean
-include $(shell find shim tools -name '*.d' 2>/dev/null)
