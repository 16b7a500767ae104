# nrun — one Makefile for the whole tree.  `make` builds build/nrun and
# build/nbuild; `make test` runs unit (cmocka) and end-to-end (bats) tests;
# `make demo` builds the base image and the hello example and runs it.
NR_VERSION := 0.1.0
BUILD ?= build
CC ?= gcc
PKGS := libarchive jansson libseccomp libcap libcrypto libcurl yaml-0.1 zlib
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
LINK_LIBS := jansson seccomp cap crypto archive z yaml
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

# Each folder below cli/ is a library that knows nothing of the command line,
# built as a static archive; a binary links only the archives it needs, so a
# layering mistake (the builder calling the supervisor, a library calling the
# CLI) is a link error, not a silent dependency:
#   nrun    cli/ + builder, runtime, supervisor, images, common
#   nbuild  cli/nbuild_main.c, cli/build.c, cli/cli.c, cli/opt.c + builder,
#           runtime (RUN steps run in containers), images, common -- no
#           supervisor and none of nrun's commands
#   nrun-init (static, embedded): runtime/init, the supervisor, a few runtime files
# The supervisor's configuration (defaults and the --max-memory, ...
# options: runtime/supervisor/options.c) is its own archive: the runtime
# checks those options when it creates a container and hands them to PID 1,
# without linking the supervisor itself.  archive_static.c is linked as an
# object (it replaces a libarchive helper, see the file).
LIBS := common images builder runtime svconfig supervisor
LIB_SRCS_common := $(wildcard common/*.c)
LIB_SRCS_images := $(filter-out images/archive_static.c,$(wildcard images/*.c))
LIB_SRCS_builder := $(wildcard builder/*.c)
LIB_SRCS_runtime := $(wildcard runtime/*.c) runtime/init/initcfg.c
LIB_SRCS_svconfig := runtime/supervisor/options.c
LIB_SRCS_supervisor := $(filter-out $(LIB_SRCS_svconfig),$(wildcard runtime/supervisor/*.c))
lib_srcs = $(LIB_SRCS_$(1))
lib_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1)))
# Generated objects: the embedded files (agent.js, the base image scripts) in
# common, the embedded nrun-init program in the runtime that starts it.
EXTRA_OBJS_common := $(BUILD)/obj/gen/embed.o
EXTRA_OBJS_runtime := $(BUILD)/obj/gen/init_blob.o
lib_a = $(BUILD)/lib/libnr_$(1).a
$(foreach l,$(LIBS),$(eval $(call lib_a,$(l)): $(call lib_objs,$(l)) $(EXTRA_OBJS_$(l))))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	@echo '  AR      $@'
	@rm -f $@ && $(AR) rcs $@ $^

CLI_SRCS := $(filter-out %_main.c,$(wildcard cli/*.c))
NBUILD_CLI_SRCS := cli/nbuild_main.c cli/build.c cli/base.c cli/cli.c cli/opt.c
LINK_OBJS := $(BUILD)/obj/images/archive_static.o
NRUN_OBJS := $(BUILD)/obj/cli/nrun_main.o $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS)) $(LINK_OBJS)
NBUILD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(NBUILD_CLI_SRCS)) $(LINK_OBJS)
NRUN_LIBS := $(foreach l,builder runtime supervisor svconfig images common,$(call lib_a,$(l)))
NBUILD_LIBS := $(foreach l,builder runtime svconfig images common,$(call lib_a,$(l)))
# The archives call one another (the runtime unpacks images, images use
# common...): a group resolves that, and what is not listed stays a link error.
link_group = -Wl,--start-group $(1) -Wl,--end-group
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Files embedded into the binary (the JS agent preloaded into workers, ...).
EMBED_SRCS := $(sort $(wildcard runtime/supervisor/*.js cli/dashboard/*.html cli/dashboard/*.js cli/dashboard/*.css images/node/*.sh images/node/*.txt images/node/*.lock builder/alpine/*.sh builder/alpine/*.txt))

# The container's PID 1 (runtime/init/): the supervisor as a small static
# program, embedded in nrun and executed from a sealed memfd inside the
# container.  Static, so it needs nothing of the image; apart from nrun, so
# it carries none of nrun's libraries.  Never built with sanitizers (they
# cannot link statically); `nrun supervise` runs the same supervisor code
# inside nrun for the sanitizer build.
INIT_SRCS := runtime/init/init_main.c runtime/init/initcfg.c runtime/init/imagecfg.c runtime/lockdown.c runtime/pid1.c \
	common/err.c common/util.c common/signal.c $(wildcard runtime/supervisor/*.c)
INIT_OBJS := $(INIT_SRCS:%.c=$(BUILD)/obj-init/%.o) $(BUILD)/obj-init/gen/embed.o
CFLAGS_INIT = $(filter-out $(SAN),$(CFLAGS_ALL)) -ffunction-sections -fdata-sections

.PHONY: all build deps test test-unit test-e2e check-security demo check-asan clean bench
all:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build

build: $(BUILD)/nrun $(BUILD)/nbuild $(UNIT_BINS)

deps:
	@./tests/lib/deps.sh

# Header dependencies: the compiler writes them (-MMD), -MP keeps a deleted
# header from breaking the build.  An object whose .d is missing (built
# before, or by a Makefile without -MMD) is built again: its .d is a
# prerequisite with an empty rule, so a missing one counts as changed.
$(BUILD)/obj/%.o: %.c $(BUILD)/obj/%.d
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/obj-init/%.o: %.c $(BUILD)/obj-init/%.d
	@mkdir -p $(dir $@)
	@echo '  CC      $< (init)'
	@$(CC) $(CFLAGS_INIT) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.d $(BUILD)/obj-init/%.d: ;
.PRECIOUS: $(BUILD)/obj/%.d $(BUILD)/obj-init/%.d
-include $(shell find $(BUILD)/obj $(BUILD)/obj-init -name '*.d' 2>/dev/null)

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

$(BUILD)/nrun: $(NRUN_OBJS) $(NRUN_LIBS)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	@$(CC) $(LDFLAGS_ALL) -o $@ $(NRUN_OBJS) $(call link_group,$(NRUN_LIBS)) $(PKG_LIBS)

$(BUILD)/nbuild: $(NBUILD_OBJS) $(NBUILD_LIBS)
	@echo '  LD      $@'
	@$(CC) $(LDFLAGS_ALL) -o $@ $(NBUILD_OBJS) $(call link_group,$(NBUILD_LIBS)) $(PKG_LIBS)

# Unit tests reach into any library (and the CLI's parsers).
$(BUILD)/lib/libnr_cli.a: $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRCS))
UNIT_LIBS := $(BUILD)/lib/libnr_cli.a $(NRUN_LIBS)
$(BUILD)/tests/%: tests/unit/%.c $(UNIT_LIBS) $(LINK_OBJS)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	@$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LINK_OBJS) $(call link_group,$(UNIT_LIBS)) $(PKG_LIBS) -lcmocka

# apt_replay.sh needs nbuild: on a clean clone deps runs before build, so the
# recording of apt's files (build_shapes.bats) is made after it.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory build
	@./tests/lib/apt_replay.sh $(abspath $(BUILD))
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
	@./tests/lib/deps.sh --bench
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
