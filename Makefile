# nrun — one Makefile for the whole tree.  `make` builds build/nrun and
# build/nbuild; `make test` runs unit (cmocka) and end-to-end (bats) tests;
# `make demo` builds the base image and the hello example and runs it.
NR_VERSION := 0.1.0
BUILD ?= build
CC ?= gcc
PKGS := libarchive jansson libseccomp libcap libcrypto libcurl
OPT ?= -O2 -g
SAN ?=
# Evaluated lazily: `make deps` may have just installed the libraries.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# libarchive is linked statically: its shared library drags in libxml2, ICU
# and libstdc++ (for formats we never read), whose loading and static
# constructors cost 1.3 ms at the start of every nrun command.  The archive
# code we call needs none of them; --as-needed drops what goes unreferenced.
# Its own dependencies stay shared; some (zstd, lz4) are installed without a
# dev symlink, so those are named by their soname.
ARCHIVE_DEPS = $(shell for l in $$(pkg-config --static --libs-only-l libarchive); do n=$$(echo $$l | cut -c3-); \
	[ $$n = archive ] && continue; if [ -e "$$($(CC) -print-file-name=lib$$n.so)" ]; then echo -l$$n; \
	else f=$$(/sbin/ldconfig -p | awk -v n="lib$$n.so." 'index($$1, n) == 1 {print $$1; exit}'); \
	[ -n "$$f" ] && echo -l:$$f; fi; done)
PKG_LIBS = $(shell pkg-config --libs $(filter-out libarchive,$(PKGS))) -Wl,-Bstatic -larchive -Wl,-Bdynamic $(ARCHIVE_DEPS)
CFLAGS_ALL = -std=gnu11 $(OPT) $(SAN) -Wall -Wextra -Werror -Wno-unused-parameter \
	-fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE= \
	-DNR_VERSION='"$(NR_VERSION)"' -I. $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SAN) -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)

SRC_DIRS := common images builder runtime runtime/supervisor
LIB_SRCS := $(filter-out %_main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Files embedded into the binary (the JS agent preloaded into workers, ...).
EMBED_SRCS := $(sort $(wildcard runtime/supervisor/*.js images/node/*.sh images/node/*.txt))
LIB_OBJS += $(BUILD)/obj/gen/embed.o

.PHONY: all build deps test test-unit test-e2e demo check-asan clean bench
all:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build

build: $(BUILD)/nrun $(BUILD)/nbuild $(UNIT_BINS)

deps:
	@./tests/lib/deps.sh

$(BUILD)/obj/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/nrun: $(BUILD)/obj/runtime/nrun_main.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/nbuild: $(BUILD)/obj/builder/nbuild_main.o $(LIB_OBJS)
	@echo '  LD      $@'
	@$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	@$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lcmocka

test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(abspath $(BUILD)) ./tests/run.sh

# Run only some tests: make test-e2e E2E=tests/e2e/store.bats
test-unit test-e2e: build
	@BUILD=$(abspath $(BUILD)) ./tests/run.sh $(if $(findstring unit,$@),--unit-only,--e2e-only) $(E2E)

check-asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		BUILD=$(abspath build-asan) ./tests/run.sh

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(abspath $(BUILD)) ./examples/demo.sh

bench: all
	@for b in bench/*.sh; do echo "== $$b"; BUILD=$(abspath $(BUILD)) $$b; done

$(BUILD)/gen/embed.c: tools/embed.sh $(EMBED_SRCS)
	@mkdir -p $(dir $@)
	@echo '  EMBED   $@'
	@./tools/embed.sh $@ $(EMBED_SRCS)

$(BUILD)/obj/gen/embed.o: $(BUILD)/gen/embed.c
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

clean:
	rm -rf build build-asan
