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
# Libraries are linked statically where Debian ships a static archive, libc
# stays shared.  Every nrun command pays the dynamic loader's symbol lookups
# for what it links: libcrypto alone is ~0.6 ms per start (BIND_NOW), and
# libarchive's shared library drags in libxml2, ICU and libstdc++ (1.3 ms).
# We call sha256 and the tar/gzip/zstd code paths only; a static link keeps
# exactly that.  (The price: an OpenSSL or libarchive update needs a rebuild.)
# --as-needed drops what goes unreferenced; a library without a .a (or a dev
# symlink) is named by its soname.
LINK_LIBS := jansson seccomp cap crypto archive
LIB_FLAGS = $(shell for n in $(LINK_LIBS) $$(pkg-config --static --libs-only-l libarchive | sed 's/-l//g'); do \
	echo " $$seen " | grep -q " $$n " && continue; seen="$$seen $$n"; \
	if [ -e "$$($(CC) -print-file-name=lib$$n.a)" ]; then echo -l:lib$$n.a; \
	elif [ -e "$$($(CC) -print-file-name=lib$$n.so)" ]; then echo -l$$n; \
	else f=$$(/sbin/ldconfig -p | awk -v n="lib$$n.so." 'index($$1, n) == 1 {print $$1; exit}'); \
	[ -n "$$f" ] && echo -l:$$f; fi; done) -pthread
PKG_LIBS = $(LIB_FLAGS)
CFLAGS_ALL = -std=gnu11 $(OPT) $(SAN) -Wall -Wextra -Werror -Wno-unused-parameter \
	-fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE= \
	-DNR_VERSION='"$(NR_VERSION)"' -I. $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SAN) -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)

SRC_DIRS := common images builder runtime runtime/supervisor runtime/init
LIB_SRCS := $(filter-out %_main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Files embedded into the binary (the JS agent preloaded into workers, ...).
EMBED_SRCS := $(sort $(wildcard runtime/supervisor/*.js images/node/*.sh images/node/*.txt))
LIB_OBJS += $(BUILD)/obj/gen/embed.o $(BUILD)/obj/gen/init_blob.o

# The container's PID 1 (runtime/init/): the supervisor as a small static
# program, embedded in nrun and executed from a sealed memfd inside the
# container.  Static, so it needs nothing of the image; apart from nrun, so
# it carries none of nrun's libraries.  Never built with sanitizers (they
# cannot link statically); `nrun supervise` runs the same supervisor code
# inside nrun for the sanitizer build.
INIT_SRCS := runtime/init/init_main.c runtime/init/initcfg.c runtime/init/imagecfg.c runtime/lockdown.c runtime/pid1.c \
	common/err.c common/util.c $(filter-out runtime/supervisor/cli_%,$(wildcard runtime/supervisor/*.c))
INIT_OBJS := $(INIT_SRCS:%.c=$(BUILD)/obj-init/%.o) $(BUILD)/obj-init/gen/embed.o
CFLAGS_INIT = $(filter-out $(SAN),$(CFLAGS_ALL)) -ffunction-sections -fdata-sections

.PHONY: all build deps test test-unit test-e2e check-security demo check-asan clean bench
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

$(BUILD)/obj-init/%.o: %.c $(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC      $< (init)'
	@$(CC) $(CFLAGS_INIT) -c $< -o $@

$(BUILD)/obj-init/gen/embed.o: $(BUILD)/gen/embed.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_INIT) -c $< -o $@

$(BUILD)/nrun-init: $(INIT_OBJS)
	@echo '  LD      $@ (static)'
	@$(CC) -static-pie -s -Wl,-z,relro,-z,now -Wl,--gc-sections -o $@ $^ -ljansson

$(BUILD)/gen/init_blob.c: Makefile $(BUILD)/nrun-init
	@mkdir -p $(dir $@)
	@printf '%s\n' '/* generated: build/nrun-init, embedded (see runtime/init/) */' \
		"const char nr_init_blob_id[] = \"$$(sha256sum $(BUILD)/nrun-init | cut -c1-16)\";" \
		'__asm__(".section .rodata.nrun_init,\"a\"\n.balign 64\n.globl nr_init_blob\n.hidden nr_init_blob\n"' \
		'        "nr_init_blob:\n.incbin \"$(abspath $(BUILD))/nrun-init\"\n"' \
		'        ".globl nr_init_blob_end\n.hidden nr_init_blob_end\nnr_init_blob_end:\n.previous\n");' >$@

$(BUILD)/obj/gen/init_blob.o: $(BUILD)/gen/init_blob.c $(BUILD)/nrun-init
	@mkdir -p $(dir $@)
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

# The escape probes alone (tests/security/: static C probes built at test time).
check-security:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(abspath $(BUILD)) ./tests/run.sh --security-only

check-asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		NRUN_SUPERVISE_INPROCESS=1 \
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
