# SPDX-License-Identifier: BSD-2-Clause
# anyload: one non-recursive Makefile (xdp-tools / libbpf style).
#   make            library (libanyvi.so/.a, anyvi.pc), BPF object, tools, tests
#   make test       install missing Debian packages, build, run unit+integration
#   make demo       install missing Debian packages, build, run the demo
#   make bench      build and run the latency benchmark (never part of test)
#   make install PREFIX=/usr/local
#   V=1             verbose

PREFIX    ?= /usr/local
BUILD     ?= build
# One spelling of every target path, however BUILD is given (tests run
# `make -C REPO BUILD=/abs/path`): the dependency files (.d) name their
# object by that path, and a second spelling would not see header changes
# through them (stale objects with an old struct layout).
override BUILD := $(abspath $(BUILD))
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
VERSION   := 0.1.0

ifeq ($(V),1)
Q :=
else
Q := @
endif

ARCH_INC  := /usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)
WARN      := -Wall -Wextra -Werror
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fPIC -D_GNU_SOURCE \
              -Iinclude -Isrc -I$(BUILD)/gen -DANYLOAD_VERSION=\"$(VERSION)\" \
              $(EXTRA_CFLAGS)
LDLIBS_VI := -lbpf -lelf -lz -lpthread -lmnl

LIB_SRCS  := $(wildcard src/vi/*.c src/common/*.c src/cplane/*.c src/stack/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# One object (and skeleton) per backend: AF_XDP's XDP program, AF_PACKET's
# socket-filter and tc programs; both include the shared filter lookup.
BPF_SRCS  := bpf/anyload_xdp.bpf.c bpf/anyload_afpacket.bpf.c
BPF_OBJS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/gen/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/gen/%.skel.h)

LIB_SO    := $(BUILD)/lib/libanyvi.so
LIB_A     := $(BUILD)/lib/libanyvi.a
PC        := $(BUILD)/lib/anyvi.pc

TOOLS     := $(notdir $(wildcard tools/ef*)) anyload_stackdump anyload_tcpdump
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bin/%)

UNIT_SRCS := $(shell find tests/unit -name 'test_*.c' 2>/dev/null)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
FUZZ_SRCS := $(filter-out tests/fuzz/replay_main.c,$(wildcard tests/fuzz/*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%.c=%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/unit/fuzz/%_replay)
FUZZ_SECONDS ?= 60
ITEST_SRCS := $(wildcard tests/integration/*.c)
ITEST_BINS := $(ITEST_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)

.PHONY: all lib tools tests test demo bench install clean deps fuzz FORCE
all: lib tools tests $(BENCH_BINS) $(BUILD)/test-cflags preload

# Flags that test scripts use to build their helper programs against this
# build's library (sanitizer builds need the same -fsanitize flags).
$(BUILD)/test-cflags: FORCE
	@mkdir -p $(dir $@)
	@echo "$(EXTRA_CFLAGS)" > $@.tmp && \
	  (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp

# Sanitizer build: the same tree under $(BUILD)/asan with ASan + UBSan.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
lib: $(LIB_SO) $(LIB_A) $(PC)
tools: $(TOOL_BINS)
tests: $(UNIT_BINS) $(ITEST_BINS) $(REPLAY_BINS)

$(BUILD)/gen/%.bpf.o: bpf/%.bpf.c bpf/filter_shared.h bpf/filter_lookup.h
	@mkdir -p $(dir $@)
	@echo "  BPF     $@"
	$(Q)$(CLANG) -O2 -g -target bpf -I$(ARCH_INC) -Ibpf -c $< -o $@

$(BUILD)/gen/%.skel.h: $(BUILD)/gen/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

# Keep the objects (make would delete them as intermediates).
.SECONDARY: $(BPF_OBJS)

# Every library object may include the generated skeletons.
$(LIB_OBJS): $(BPF_SKELS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB_SO): $(LIB_OBJS) src/vi/libanyvi.map
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,--version-script=src/vi/libanyvi.map \
	  -Wl,-soname,libanyvi.so.0 -o $@ $(LIB_OBJS) $(LDLIBS_VI) $(LDFLAGS)

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $(LIB_OBJS)

$(PC): anyvi.pc.in
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# Tools, benches and tests link the static library so they run from the
# build tree without LD_LIBRARY_PATH.
$(BUILD)/bin/%: tools/%/*.c $(wildcard tools/common/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itools/common -o $@ $(filter %.c,$^) $(LIB_A) $(LDLIBS_VI) -lm $(LDLIBS_TOOL) $(LDFLAGS)

# anyload_tcpdump writes pcap files and compiles filters with libpcap.
$(BUILD)/bin/anyload_tcpdump: LDLIBS_TOOL := -lpcap

$(BUILD)/bin/%: bench/%.c $(wildcard bench/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_VI) -lm

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_A) $(wildcard tests/harness/*.h) \
                      $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/harness -o $@ $< $(LIB_A) $(LDLIBS_VI) -lm

$(BUILD)/tests/integration/%: tests/integration/%.c $(LIB_A) $(wildcard tests/harness/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/harness -o $@ $< $(LIB_A) $(LDLIBS_VI) -lm

# Each fuzz target replays its seed corpus once in the unit suite. Targets
# include header-only parsers (wire views, the samples' util header, the
# BPF lookup), so a replay depends on every header.
FUZZ_HDRS := $(wildcard include/*/*.h src/*/*.h src/*/*/*.h tools/common/*.h \
               bpf/*.h)
$(BUILD)/tests/unit/fuzz/%_replay: tests/fuzz/%.c tests/fuzz/replay_main.c \
                                   $(LIB_A) $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -DFUZZ_TARGET=\"$*\" -o $@ $< \
	  tests/fuzz/replay_main.c $(LIB_A) $(LDLIBS_VI) -lm $(LDFLAGS)

# make fuzz: every target under libFuzzer (clang, ASan + UBSan) for
# FUZZ_SECONDS each, starting from a copy of its corpus; new inputs are
# left in $(BUILD)/fuzz/corpus/<target> for review, crashes in
# $(BUILD)/fuzz/crash-<target>-*.
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
fuzz: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	  EXTRA_CFLAGS="-g -fsanitize=fuzzer-no-link $(FUZZ_FLAGS)" \
	  LDFLAGS="$(FUZZ_FLAGS)" lib
	$(Q)set -e; for t in $(FUZZ_NAMES); do \
	  echo "  FUZZ    $$t ($(FUZZ_SECONDS) s)"; \
	  clang -g -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -I$(FUZZ_BUILD)/gen \
	    -fsanitize=fuzzer $(FUZZ_FLAGS) -o $(FUZZ_BUILD)/$$t \
	    tests/fuzz/$$t.c $(FUZZ_BUILD)/lib/libanyvi.a $(LDLIBS_VI) -lm; \
	  rm -rf $(FUZZ_BUILD)/corpus/$$t; mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  cp tests/fuzz/corpus/$$t/* $(FUZZ_BUILD)/corpus/$$t/; \
	  $(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	    $(FUZZ_BUILD)/corpus/$$t 2>&1 | grep -E "^Done|ERROR|SUMMARY" \
	    || true; \
	  if ls $(FUZZ_BUILD)/crash-$$t-* >/dev/null 2>&1; then \
	    echo "fuzz: $$t crashed, inputs in $(FUZZ_BUILD)"; exit 1; fi; \
	done

# Transparent mode: libanyload.so (src/preload/ with the library objects
# linked in; only the calls of common/syscalls.def leave it) and the
# anyload launcher with its profiles, found relative to it.
PRELOAD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard src/preload/*.c))
PRELOAD_SO   := $(BUILD)/lib/libanyload.so
PRELOAD_MAP  := $(BUILD)/gen/libanyload.map
PROFILES     := $(patsubst tools/anyload/profiles/%,$(BUILD)/share/anyload/profiles/%,$(wildcard tools/anyload/profiles/*.profile))
.PHONY: preload
preload: $(PRELOAD_SO) $(BUILD)/bin/anyload $(PROFILES)
$(PRELOAD_OBJS): $(BPF_SKELS)
$(PRELOAD_MAP): src/preload/libanyload.map.in src/common/syscalls.def
	@mkdir -p $(dir $@)
	$(Q)$(CC) -E -P -Isrc -x c $< -o $@
$(PRELOAD_SO): $(PRELOAD_OBJS) $(LIB_OBJS) $(PRELOAD_MAP)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -shared -Wl,--version-script=$(PRELOAD_MAP) -o $@ \
	  $(PRELOAD_OBJS) $(LIB_OBJS) $(LDLIBS_VI) -ldl $(LDFLAGS)
$(BUILD)/bin/anyload: tools/anyload/anyload.c src/preload/settings.c \
                      src/preload/settings.h src/common/settings.def
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ tools/anyload/anyload.c \
	  src/preload/settings.c $(LDFLAGS)
$(BUILD)/share/anyload/profiles/%: tools/anyload/profiles/%
	@mkdir -p $(dir $@)
	$(Q)cp $< $@
-include $(PRELOAD_OBJS:.o=.d)

# Unit tests of transparent mode link its objects, which then interpose on
# the test's own calls as libanyload.so does on a program's.
$(BUILD)/tests/unit/preload/%: tests/unit/preload/%.c $(PRELOAD_OBJS) $(LIB_A) \
                               $(wildcard tests/harness/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/harness -o $@ $< $(PRELOAD_OBJS) $(LIB_A) \
	  $(LDLIBS_VI) -ldl -lm $(LDFLAGS)

deps:
	$(Q)bash scripts/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan \
	  EXTRA_CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" all
	$(Q)SANITIZE_BUILD=$(BUILD)/asan bash tests/run.sh $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash scripts/demo.sh $(BUILD)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash bench/run.sh $(BUILD)

install: lib tools
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/etherfabric $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libanyvi.so.0
	ln -sf libanyvi.so.0 $(DESTDIR)$(PREFIX)/lib/libanyvi.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 0644 include/etherfabric/*.h $(DESTDIR)$(PREFIX)/include/etherfabric/
	install -d $(DESTDIR)$(PREFIX)/include/anyload
	install -m 0644 include/anyload/*.h $(DESTDIR)$(PREFIX)/include/anyload/
	install -m 0755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJS:.o=.d)
