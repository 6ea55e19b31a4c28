# Build, test, benchmark and demo entry points for snug (see README.md for the two commands to start with).

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
SHELL := /bin/bash

OUT     := build
OBJ     := $(OUT)/obj
CC      := gcc
CLANG   ?= clang
PKG_CONFIG ?= pkg-config
CLANG_FORMAT ?= clang-format-14

# V=1 shows the full commands.
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The shared specs and envtest binaries sit beside the checkout (CI lays a copy there too).
SHARED_DIR ?= $(abspath ../shared)
# Downloads (the VM kernel, decompressed envtest binaries) are cached outside the tree, reused by clean clones.
SNUG_CACHE ?= $(HOME)/.cache/snug
# Every fuzz target runs this long (seconds) unless told otherwise.
FUZZ_SECONDS ?= 60

PKGS := libsystemd libbpf libcjson libcurl liburing libmicrohttpd yaml-0.1

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wundef -Wpointer-arith -Wwrite-strings -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wimplicit-fallthrough -Wdate-time -Wnested-externs
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARNINGS) -D_GNU_SOURCE -fno-strict-aliasing -fstack-protector-strong \
	-I. -I$(OUT)
LDFLAGS ?=
LDLIBS :=

ifeq ($(SANITIZE),1)
# OUT first: CFLAGS' -I$(OUT) is expanded by the := below and must name build/sanitize (its suites.h).
OUT := build/sanitize
OBJ := $(OUT)/obj
CFLAGS := $(filter-out -O2,$(CFLAGS)) -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
CFLAGS += -D_FORTIFY_SOURCE=2
endif

# pkg-config is consulted lazily so `make deps` works before the -dev packages exist.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lm
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# Every .c under agent/ and cgroup/ (but main.c) and the BPF loader go into one static library, so the
# binary and every test link the same objects. Module fragments (*.mk) add rules of their own.
LIB_SRCS := $(filter-out agent/main.c,$(wildcard agent/*.c agent/*/*.c cgroup/*.c)) \
	$(filter-out %.bpf.c,$(wildcard bpf/*.c))
LIB_OBJS = $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS))
LIB := $(OUT)/libsnug.a
AGENT := $(OUT)/snug-agent

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))
UNIT_RUNNER := $(OUT)/tests/unit-tests

# Objects that must wait for generated headers (BPF skeletons) list them here.
GENERATED_HEADERS :=

# Fragments: a product module's own build rules (bpf/bpf.mk, the BPF skeleton), and one or more per
# test tier, benchmarks and fuzzers included (tests/*/*.mk, see tests/README.md).
-include $(sort $(wildcard bpf/*.mk cgroup/*.mk agent/*.mk agent/*/*.mk tests/*/*.mk deploy/*.mk))

.PHONY: all deps check check-tiers check-lint check-unit check-api check-envtest check-vm check-deploy check-node bench fuzz demo \
	format format-check clean

all: $(AGENT)

$(OBJ)/%.o: %.c $(GENERATED_HEADERS) | deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(AGENT): $(OBJ)/agent/main.o $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# The unit runner: each tests/unit/test_NAME.c defines `Suite *NAME_suite(void)`; the list of suites is
# generated from the file names so a new suite needs no edit anywhere else.
$(OUT)/tests/suites.h: $(UNIT_SRCS) Makefile
	$(Q)mkdir -p $(@D)
	$(Q){ for f in $(UNIT_SRCS); do n=$$(basename $$f .c); n=$${n#test_}; \
		echo "SUITE($${n})"; done; } > $@.tmp && mv $@.tmp $@

$(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRCS) tests/unit/runner.c): $(OUT)/tests/suites.h

$(UNIT_RUNNER): $(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRCS) $(UNIT_HELPERS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS) $(LDLIBS)

# Unit tier: fast, no root, no network. Writes a result line for the `make check` summary.
check-unit: $(UNIT_RUNNER) $(AGENT)
	$(Q)mkdir -p $(OUT)/results
	$(Q)CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-$(if $(filter 1,$(SANITIZE)),300,60)} \
		SNUG_AGENT=$(abspath $(AGENT)) SNUG_RESULTS=$(abspath $(OUT)/results/unit) \
		SNUG_TESTDATA=$(abspath tests/data) $(UNIT_RUNNER)

# `make check` installs what it needs first (the README promises a fresh Debian 12 machine needs
# nothing else), then runs every tier; check-tiers runs them without the package check.
check:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory check-tiers

# The shape the code is held to (tests/lint/lint.sh): no call cycles between product files, no file
# over 900 lines or function over 120, docs/metrics.md matching the exported families.
check-lint: $(LIB)
	$(Q)mkdir -p $(OUT)/results
	$(Q)SNUG_RESULTS=$(abspath $(OUT)/results/lint) tests/lint/lint.sh $(OBJ)

check-tiers: check-lint check-unit check-api check-envtest check-vm check-deploy check-node
	$(Q)tests/summary.sh $(OUT)/results

# Fragments add their own pieces as prerequisites (`bench: bench-NAME`, `fuzz: fuzz-NAME`).
bench: $(AGENT)
fuzz:

deps:
	$(Q).ci/deps

# deps-ok fails early with a clear message when the -dev packages are missing.
.PHONY: deps-ok
deps-ok:
	$(Q)$(PKG_CONFIG) --exists $(PKGS) check || { echo "missing build dependencies: run 'make deps' first" >&2; exit 1; }

FORMAT_SRCS = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null | grep -v -e '^bpf/vmlinux.h$$')
format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: clean"

clean:
	$(Q)rm -rf build

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
