# rawkit --- top-level build.  `make demo` and `make check` are the whole set-up.
#
#   make [all]          build libimgfmt and the tools into build/
#   make check          install missing deps, build with -Werror, run every test (prove)
#   make check SANITIZE=1   the same with ASan+UBSan, in build-san/
#   make demo           install missing deps, build, run the demo on a generated disk
#   make fuzz           build the libFuzzer targets with clang and run each FUZZ_SECONDS
#   make bench          install the tools compared against, run bench/*.sh
#   make install        PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/rawkit
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=
CC      ?= cc
OBJCOPY ?= objcopy
FUZZ_SECONDS ?= 60
# The release version: one place, the VERSION file (tools' --version, the
# library's imgfmt_version(), libimgfmt.pc and the man pages' footers).
VERSION := $(shell cat VERSION)

ifeq ($(SANITIZE),1)
B        := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B        := build
SANFLAGS :=
endif

PKGS := ext2fs com_err fdisk blkid libntfs-3g libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# librbd and librados (disks on Ceph RBD) are dlopen()ed on first use (rbd_api.c)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread
# the tools' --json output (tools/common/json.c); not libimgfmt's
JSON_LIBS  := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
        -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(CI),)
WARN += -Werror
endif

CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 -DRAWKIT_VERSION=\"$(VERSION)\" -fPIC -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(SANFLAGS) $(CFLAGS) \
              $(PKG_CFLAGS)
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)

LIB_SRC   := $(wildcard lib/imgfmt/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
LIB_A     := $(B)/lib/libimgfmt.a
LIB_SO    := $(B)/lib/libimgfmt.so.0
COMMON_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard tools/common/*.c))

# ---- lib/guestedit: guest file editing and the P2V/V2P conversion steps ----
# A second internal library, a static archive linked by the tools that edit
# guests.  Include paths: a library sees only library headers (imgfmt.h and
# its own); the tools see tools/common too.
GE_SRC := $(wildcard lib/guestedit/*.c)
GE_OBJ := $(GE_SRC:%.c=$(B)/%.o)
GE_A   := $(B)/lib/libguestedit.a
TOOL_INC := -Ilib/imgfmt -Ilib/guestedit -Itools/common
INC = $(TOOL_INC)
$(B)/lib/imgfmt/%.o: INC = -Ilib/imgfmt
$(B)/lib/guestedit/%.o: INC = -Ilib/imgfmt -Ilib/guestedit
TOOL_GE_clone := $(GE_A)
TOOL_GE_p2v := $(GE_A)
TOOL_GE_v2p := $(GE_A)
# restore-disk runs mke2fs, mkswap, mount (run.c)
TOOL_GE_lanfree := $(GE_A)
# volfile.c serves an LV to the kernel through FUSE (libfuse3)
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS   := $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)
$(B)/lib/guestedit/volfile.o: INC = -Ilib/imgfmt -Ilib/guestedit $(FUSE_CFLAGS)
# ---- end lib/guestedit ----

TOOLS := info lanfree clone p2v v2p
# fusemount.c: rawkit-lanfree mount (libfuse3)
TOOL_LIBS_lanfree := -larchive -lzstd -lz -lsqlite3 -linih $(FUSE_LIBS)
$(B)/tools/lanfree/fusemount.o: INC = $(TOOL_INC) $(FUSE_CFLAGS)
# db_postgres.c: a catalog on PostgreSQL; libpq is dlopen()ed on first use
# (linked, it costs every run 3 ms and 4 MB more: 19 more libraries)
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
$(B)/tools/lanfree/db_postgres.o: INC = $(TOOL_INC) $(PQ_CFLAGS)
# hive.c edits a Windows SYSTEM hive through hivex
HIVEX_LIBS := $(shell pkg-config --libs hivex 2>/dev/null || echo -lhivex)
TOOL_LIBS_clone := $(FUSE_LIBS) $(HIVEX_LIBS)
TOOL_LIBS_p2v := -larchive -lguestfs -lzstd -lz $(FUSE_LIBS)
TOOL_LIBS_v2p := -larchive -lguestfs -lzstd -lz $(FUSE_LIBS)
BINS  := $(TOOLS:%=$(B)/bin/rawkit-%)
HELPERS := $(B)/bin/imgfmt-tool $(B)/bin/jbd2-replay $(B)/bin/lvm-dump

.PHONY: all check check-long check-boot demo deps fuzz fuzzers units bench install clean
all: $(BINS) $(HELPERS) $(LIB_SO) $(LIB_A) $(GE_A)

# Rebuild everything when the flags change (WERROR, SANITIZE, CFLAGS).
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

# -MMD -MP: each object depends on the headers it includes (see the -include below).
$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(INC) -MMD -MP -c $< -o $@

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# The static library is one relocatable object whose only global symbols are
# the functions imgfmt.h declares (the .so gets the same from its version
# script): internals shared between the library's files stay inside it.
$(B)/lib/libimgfmt.keep: lib/imgfmt/imgfmt.h
	@mkdir -p $(dir $@)
	sed -n 's/.*\<\(imgfmt_[a-z0-9_]*\)(.*/\1/p' $< | sort -u > $@

$(LIB_A): $(LIB_OBJ) $(B)/lib/libimgfmt.keep
	@mkdir -p $(dir $@)
	$(LD) -r -o $(B)/lib/libimgfmt.o $(LIB_OBJ)
	$(OBJCOPY) --keep-global-symbols=$(B)/lib/libimgfmt.keep $(B)/lib/libimgfmt.o
	rm -f $@ && ar rcs $@ $(B)/lib/libimgfmt.o

$(GE_A): $(GE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libimgfmt.so.0 -Wl,--version-script=lib/imgfmt/libimgfmt.sym \
		$(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# A tool is tools/NAME/*.c linked with the common CLI code, libguestedit
# when it edits guests, and libimgfmt.
define TOOL_RULE
$(B)/bin/rawkit-$(1): $(patsubst %.c,$(B)/%.o,$(wildcard tools/$(1)/*.c)) $(COMMON_OBJ) $(TOOL_GE_$(1)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(TOOL_LIBS_$(1)) $$(JSON_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_RULE,$(t))))

# ---- unit tests: tests/unit/*.c, TAP programs that prove runs beside tests/*.t ----
# Each links the objects of what it tests (not the archives: their symbols
# may be localized).
UNIT_SRC   := $(wildcard tests/unit/*.c)
UNITS      := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
GE_TEXT_OBJ := $(addprefix $(B)/lib/guestedit/,textedit.o guest.o guestroot.o report.o) $(LIB_OBJ)
UNIT_OBJ_extents  := $(B)/lib/imgfmt/extents.o
UNIT_OBJ_hostname := $(B)/tools/clone/hostname.o
UNIT_OBJ_ops      := $(B)/tools/clone/ops.o
UNIT_OBJ_hmap     := $(B)/tools/common/hmap.o
UNIT_OBJ_tmpdir   := $(B)/lib/guestedit/run.o
UNIT_OBJ_report   := $(B)/lib/guestedit/report.o
UNIT_OBJ_devref   := $(B)/lib/guestedit/devref.o $(GE_TEXT_OBJ)
UNIT_OBJ_textedit := $(B)/lib/guestedit/netcfg.o $(GE_TEXT_OBJ)
UNIT_OBJ_retention := $(B)/tools/lanfree/retention.o
$(B)/tests/unit/retention.o: INC = $(TOOL_INC) -Itools/lanfree
UNIT_OBJ_vgname   := $(addprefix $(B)/tools/clone/,vgname.o hostname.o edits.o ids.o) $(B)/tools/common/cli.o $(GE_TEXT_OBJ)
$(B)/tests/unit/%.o: INC = $(TOOL_INC) -Itools/clone
define UNIT_RULE
$(B)/tests/unit/$(1): $(B)/tests/unit/$(1).o $(UNIT_OBJ_$(1))
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(PKG_LIBS)
endef
$(foreach u,$(UNIT_SRC:tests/unit/%.c=%),$(eval $(call UNIT_RULE,$(u))))
units: $(UNITS)
# ---- end unit tests ----

# jbd2.c alone against kernel-written journals (tests/87-journal-replay.t)
$(B)/bin/jbd2-replay: $(B)/tests/helpers/jbd2-replay.o $(B)/lib/imgfmt/jbd2.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# lvm_*.c alone against PVs made by lvm2's tools (tests/41-lvm.t)
LVM_OBJ := $(addprefix $(B)/lib/imgfmt/,lvm_label.o lvm_text.o lvm_vg.o error.o)
$(B)/bin/lvm-dump: $(B)/tests/helpers/lvm-dump.o $(LVM_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(B)/bin/imgfmt-tool: $(B)/tests/helpers/imgfmt-tool.o $(COMMON_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JSON_LIBS)

deps:
	@scripts/deps.sh check

# The boot tests: converted disks booted under qemu (TCG: minutes).
check-boot:
	@scripts/deps.sh boot
	@$(MAKE) --no-print-directory WERROR=1 all
	RAWKIT_BIN=$(abspath $(B)/bin) prove --timer tests/boot/

# make check stays under ~15 minutes on 2 cores: these suites (the XFS and
# LVM writers against their own tools, e2fsprogs' whole corpus, the
# dracut/initramfs-tools injection, the Windows guests: restore-disk of
# NTFS, clone's hive edits) run in make check-long, which CI runs after
# make check.
LONG_TESTS := tests/41-lvm.t tests/44-lvm-write.t tests/45-clone-xfs.t tests/47-convert-xfs.t tests/49-inject.t \
              tests/59-lanfree-restore-disk-ntfs.t tests/77-e2fsprogs-corpus.t tests/91-clone-windows.t
CHECK_TESTS := $(filter-out $(LONG_TESTS),$(sort $(wildcard tests/*.t)))

check: deps
	@$(MAKE) --no-print-directory WERROR=1 all fuzzers units
	RAWKIT_BIN=$(abspath $(B)/bin) RAWKIT_FUZZ_BIN=$(abspath $(FUZZ_B)) SANITIZE=$(SANITIZE) \
		prove -j2 --timer $(CHECK_TESTS) $(UNITS)

check-long: deps
	@$(MAKE) --no-print-directory WERROR=1 all fuzzers
	RAWKIT_BIN=$(abspath $(B)/bin) RAWKIT_FUZZ_BIN=$(abspath $(FUZZ_B)) SANITIZE=$(SANITIZE) RAWKIT_FUZZ_SECONDS=30 \
		prove -j2 --timer $(LONG_TESTS) tests/90-fuzz.t

demo: deps
	@$(MAKE) --no-print-directory all
	@RAWKIT_BIN=$(abspath $(B)/bin) scripts/demo.sh

# libFuzzer targets: clang, ASan+UBSan, their own build directory.
FUZZ_B := build-fuzz
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -fsanitize=fuzzer,address,undefined \
               -DRAWKIT_VERSION=\"$(VERSION)\" -Ilib/imgfmt -Ilib/guestedit -Itools/common -Itools/lanfree -Itests/fuzz/lib $(PKG_CFLAGS) $(PQ_CFLAGS)
# what a fuzzer needs besides libimgfmt
LANFREE_DB := tools/lanfree/db.c tools/lanfree/db_sqlite.c tools/lanfree/db_postgres.c
FUZZ_EXTRA_fuzz_archive := tools/lanfree/unpack.c tools/lanfree/content.c tools/lanfree/catalog.c $(LANFREE_DB) tools/common/cli.c \
                           tools/lanfree/archfile.c tools/lanfree/repo.c tools/lanfree/radosrepo.c tools/lanfree/pack.c tools/lanfree/fault.c
FUZZ_LIBS_fuzz_archive := -larchive -lzstd -lz -lsqlite3
FUZZ_EXTRA_fuzz_catalog := $(filter-out tools/lanfree/main.c tools/lanfree/fusemount.c,$(wildcard tools/lanfree/*.c)) tools/common/cli.c tools/common/hmap.c \
                           tools/common/json.c tools/common/cliopt.c tools/common/clihelp.c tools/common/target_info.c lib/guestedit/run.c
FUZZ_LIBS_fuzz_catalog := -larchive -lzstd -lz -lsqlite3 -linih $(JSON_LIBS)
FUZZ_EXTRA_fuzz_conf := tools/lanfree/config.c tools/lanfree/retention.c tools/lanfree/repo.c tools/lanfree/catalog.c $(LANFREE_DB) tools/lanfree/pack.c \
                        tools/common/cli.c tools/lanfree/archfile.c tools/lanfree/radosrepo.c tools/lanfree/fault.c
FUZZ_LIBS_fuzz_conf := -linih -lsqlite3 -larchive -lzstd -lz
FUZZ_EXTRA_fuzz_clone_text := lib/guestedit/guest.c lib/guestedit/guestroot.c lib/guestedit/textedit.c lib/guestedit/netcfg.c \
                              lib/guestedit/report.c lib/guestedit/devref.c tools/clone/edits.c tools/clone/ids.c \
                              tools/clone/vgname.c tools/clone/hostname.c \
                              tools/common/cli.c
FUZZ_EXTRA_fuzz_stream := tools/p2v/stream.c tools/common/cli.c
FUZZ_EXTRA_fuzz_disk := tests/fuzz/lib/fswalk.c
FUZZ_EXTRA_fuzz_xfs := tests/fuzz/lib/fswalk.c
FUZZ_EXTRA_fuzz_vfat := tests/fuzz/lib/fswalk.c
FUZZ_LIBS_fuzz_stream := -lzstd -lz
FUZZ_EXTRA_fuzz_initrd := lib/guestedit/initrd.c lib/guestedit/initrd_frame.c lib/guestedit/moddep.c lib/guestedit/guest.c lib/guestedit/guestroot.c \
                          lib/guestedit/report.c
FUZZ_LIBS_fuzz_initrd := -larchive
FUZZERS := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(wildcard tests/fuzz/*.c))
# every source compiled once (instrumented, not linked with libFuzzer's main),
# then each target links the objects it needs
FUZZ_OBJ = $(patsubst %.c,$(FUZZ_B)/obj/%.o,$(1))
$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_CFLAGS)) -MMD -MP -c $< -o $@
-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)
# (kept between runs: they are intermediate files make would delete)
.SECONDARY:
.SECONDEXPANSION:
$(FUZZ_B)/%: $(FUZZ_B)/obj/tests/fuzz/%.o $(call FUZZ_OBJ,$(LIB_SRC)) $$(call FUZZ_OBJ,$$(FUZZ_EXTRA_$$*))
	@mkdir -p $(dir $@)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) $(FUZZ_LIBS_$*)
fuzzers: $(FUZZERS)
fuzz: deps $(FUZZERS)
	@for f in $(FUZZERS); do \
		n=$$(basename $$f); mkdir -p $(FUZZ_B)/corpus-$$n; \
		tests/fuzz/seed.sh $$n $(FUZZ_B)/corpus-$$n || exit 1; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=4194304 -timeout=20 -rss_limit_mb=2048 \
			$(FUZZ_B)/corpus-$$n 2>&1 | tail -n 3 || exit 1; \
	done

bench: all
	@scripts/deps.sh bench
	@for b in bench/*.sh; do RAWKIT_BIN=$(abspath $(B)/bin) $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libimgfmt.so.0 $(DESTDIR)$(LIBDIR)/libimgfmt.so
	install -m 644 lib/imgfmt/imgfmt.h $(DESTDIR)$(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	    -e 's|@PKGS@|$(PKGS)|' -e 's|@VERSION@|$(VERSION)|' lib/imgfmt/libimgfmt.pc.in \
	    > $(DESTDIR)$(LIBDIR)/pkgconfig/libimgfmt.pc
	for m in $(wildcard man/*.[0-9]); do \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		sed 's|@VERSION@|$(VERSION)|' $$m > $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} && \
		chmod 644 $(DESTDIR)$(MANDIR)/man$$s/$${m##*/} || exit 1; \
	done
	install -d $(DESTDIR)$(DOCDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 doc/lanfree.conf.example $(DESTDIR)$(DOCDIR)/
	for t in $(TOOLS); do install -m 644 completion/rawkit.bash $(DESTDIR)$(BASHCOMPDIR)/rawkit-$$t || exit 1; done

clean:
	rm -rf build build-san build-fuzz
