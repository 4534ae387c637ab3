# xmig: one Makefile.  ./configure first; it writes config.mk here (or in a
# build directory, which then holds a GNUmakefile that includes this file).

ifeq ($(wildcard config.mk),)
$(error no config.mk: run ./configure first)
endif
include config.mk

S := $(srcdir)
O := obj
VERSION := 0.1.0
SONAME := libxmig.so.0

CPPFLAGS := -I$(S) -I$(S)/include -D_GNU_SOURCE $(SSL_CFLAGS) $(JSON_CFLAGS)
ALL_CFLAGS := -std=c11 $(CFLAGS) $(WARN) $(SAN_FLAGS) -fPIC $(CPPFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS) -lpthread -lm $(JSON_LIBS)

LIB_SRCS := common/error.c common/log.c \
	records/names.c records/headers.c records/xl_header.c \
	records/xl_config.c records/page_data.c records/pv.c records/hvm.c \
	records/policy.c records/libxl_records.c records/libxc_records.c \
	records/views.c records/transparent.c records/evtchn.c records/gnttab.c \
	records/xenstore.c common/ram_digest.c \
	streams/cancel.c streams/transport.c streams/order.c streams/reader.c \
	streams/writer.c \
	streams/tls.c streams/tls_policy.c streams/tls_broker.c \
	streams/kernel_crypto.c \
	streams/synth.c streams/synth_transparent.c libxmig/transparent_state.c \
	libxmig/session.c libxmig/migrate_send.c libxmig/migrate_recv.c \
	libxmig/stats.c backends/sim/sim_memory.c backends/sim/sim_vcpu.c \
	backends/sim/sim_state.c backends/sim/sim_backend.c
CLI_SRCS := xmigd/xmig.c xmigd/cmd_verify.c xmigd/cmd_dump.c \
	xmigd/dump_transparent.c xmigd/cmd_sample.c xmigd/cmd_tls_info.c \
	xmigd/cmd_migrate.c xmigd/net.c xmigd/cmd_ctl.c xmigd/ctl_json.c \
	xmigd/cmd_save.c xmigd/atomic_file.c xmigd/cmd_report.c \
	xmigd/cmd_certs.c xmigd/cmd_tls_broker.c xmigd/progress.c \
	xmigd/cli_number.c xmigd/hostport.c
TEST_NAMES := test_cursor test_records test_negative test_streams \
	test_writer test_errors test_transparent test_xen test_migrate \
	test_engine_paths test_xl_config test_qmp test_timeouts test_feed \
	test_ram_digest
TEST_SUPPORT := tests/support.c
# A throwaway PKI for the TLS tests (tests/tls/make-certs.sh says what).
CERTS := $(O)/certs
BENCH_NAMES := bench_codec
FUZZ_NAMES := fuzz_libxc fuzz_libxl fuzz_xl fuzz_xlconfig fuzz_receive fuzz_ctl \
	fuzz_qmp fuzz_conf fuzz_tlsopts fuzz_kcrypto

# The xen backend: with libxen-dev, every backends/xen/*.c but the stub,
# linked against Xen's libraries (libxenguest for the CPU policy and grant
# seeding calls); without it, the stub that says so.  xen_convert.c (pure
# conversions, no Xen header) and xen_qmp.c (the QMP client) are built
# either way, so test_xen and test_qmp always run.
XEN_ALL_SRCS := $(patsubst $(S)/%,%,$(wildcard $(S)/backends/xen/*.c))
ifeq ($(HAVE_XEN),yes)
XEN_SRCS := $(filter-out backends/xen/xen_absent.c,$(XEN_ALL_SRCS))
XEN_LINK := $(XEN_LIBS) $(shell pkg-config --libs xenlight xenguest \
	2>/dev/null || echo -lxenlight -lxenguest)
else
XEN_SRCS := backends/xen/xen_absent.c backends/xen/xen_convert.c \
	backends/xen/xen_qmp.c
XEN_LINK :=
endif
ALL_LDFLAGS += $(XEN_LINK)

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o) $(XEN_SRCS:%.c=$(O)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(O)/%.o)
TEST_BINS := $(TEST_NAMES:%=$(O)/tests/%)
BENCH_BINS := $(BENCH_NAMES:%=$(O)/bench/%)
FUZZ_BINS := $(FUZZ_NAMES:%=$(O)/fuzz/%)

.PHONY: all check check-docs check-completion check-abi abi-baseline check-install check-memory check-shared check-conformance check-unit check-cli check-interop check-headers \
	check-vm check-xen check-tls check-broker check-stunnel check-daemon \
	check-sanitizers check-tsan valgrind fuzz fuzz-build bench bench-transport bench-migrate demo install \
	uninstall clean distclean corpus

XMIGD_SRCS := xmigd/xmigd.c xmigd/daemon_config.c xmigd/daemon_guests.c \
	xmigd/sd_notify.c xmigd/daemon_accept.c xmigd/daemon_migrate.c \
	xmigd/daemon_control.c xmigd/ctl_json.c xmigd/ctl_requests.c \
	xmigd/net.c xmigd/cmd_save.c xmigd/atomic_file.c xmigd/cmd_ctl.c \
	xmigd/progress.c xmigd/cli_number.c xmigd/hostport.c
XMIGD_OBJS := $(XMIGD_SRCS:%.c=$(O)/%.o)

all: libxmig.a $(SONAME) xmig bin/xmigd

$(O)/%.o: $(S)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $*.c"
	@$(CC) $(ALL_CFLAGS) -fvisibility=hidden -MMD -MP -c -o $@ $<

# Xen's public headers want GNU C (anonymous unions, typeof).
$(O)/backends/xen/%.o: ALL_CFLAGS += -std=gnu11 $(XEN_CFLAGS)

libxmig.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(SONAME): $(LIB_OBJS) $(S)/libxmig/libxmig.syms
	$(CC) -shared -Wl,-soname,$(SONAME) \
	  -Wl,--version-script=$(S)/libxmig/libxmig.syms \
	  -o $@ $(LIB_OBJS) $(ALL_LDFLAGS) $(SSL_LIBS)
	ln -sf $(SONAME) libxmig.so

# Programs live in bin/ (the sources' folder is called xmigd/); ./xmig is
# a link for convenience.
bin/xmigd: $(XMIGD_OBJS) libxmig.a
	@mkdir -p bin
	$(CC) -o $@ $(XMIGD_OBJS) libxmig.a $(ALL_LDFLAGS) $(SSL_LIBS)

bin/xmig: $(CLI_OBJS) libxmig.a
	@mkdir -p bin
	$(CC) -o $@ $(CLI_OBJS) libxmig.a $(ALL_LDFLAGS) $(SSL_LIBS)

xmig: bin/xmig
	ln -sf bin/xmig xmig

# ---- tests ----------------------------------------------------------------

$(O)/tests/%: $(S)/tests/%.c $(S)/$(TEST_SUPPORT) libxmig.a
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(S)/$(TEST_SUPPORT) \
	  libxmig.a $(ALL_LDFLAGS) $(CMOCKA_LIBS) $(SSL_LIBS) -lpthread

# The TLS test peer (stunnel interop, VM rig, transport benchmark).
$(O)/tests/tls-pipe: $(S)/tests/tls-pipe.c libxmig.a
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< libxmig.a $(ALL_LDFLAGS) $(SSL_LIBS)

check: check-headers check-abi check-shared check-install check-unit check-cli check-memory check-interop \
	check-conformance check-tls check-broker check-stunnel check-daemon check-docs \
	check-completion
	@echo "make check: all suites passed"

check-unit: $(TEST_BINS) $(CERTS)/.made
	@CERTS=$(CERTS) $(S)/tests/run-unit.sh $(TEST_BINS)

check-cli: xmig
	@XMIG=./xmig $(S)/tests/cli.sh

# Every option and configuration key the programs accept is in their man
# pages, and every subcommand.
check-docs: xmig bin/xmigd
	@XMIG=./xmig XMIGD=bin/xmigd SRCDIR=$(S) bash $(S)/tests/docs.sh

# The bash completion: installed and removed by make install/uninstall,
# and completing subcommands, options and values.
check-completion: xmig
	@XMIG=./xmig SRCDIR=$(S) MAKE="$(MAKE)" bash $(S)/tests/completion.sh

# Peak memory of verify, dump and restore on large and lying records.
check-memory: xmig
	@XMIG=./xmig bash $(S)/tests/memory.sh

check-interop: xmig
	@XMIG=./xmig $(S)/tests/interop-verify-stream.sh

# Streams written from the specs by an independent generator.
check-conformance: xmig
	@XMIG=./xmig sh $(S)/tests/spec-conformance.sh

$(CERTS)/.made: $(S)/tests/tls/make-certs.sh
	@rm -rf $(CERTS)
	@echo "  CERTS   $(CERTS)"
	@sh $(S)/tests/tls/make-certs.sh $(CERTS)
	@touch $@

# The TLS transport between two tls-pipe peers over loopback: successes,
# refusals and their messages, cut connections, kernel TLS fallback.
check-tls: xmig $(O)/tests/tls-pipe $(CERTS)/.made
	@TLS_PIPE=$(O)/tests/tls-pipe XMIG=./xmig CERTS=$(CERTS) \
	  bash $(S)/tests/tls.sh

# The toolstack end of the TLS socket broker (tests/fake-toolstack.c).
$(O)/tests/fake-toolstack: $(S)/tests/fake-toolstack.c
	@mkdir -p $(O)/tests
	$(CC) $(ALL_CFLAGS) -o $@ $< -lpthread

# The kTLS socket broker (xmig tls-connect / tls-accept) between two fake
# toolstacks over loopback: SCM_RIGHTS hand-off, --exec, --stdio as xl
# runs it, refusals, --tls ktls; kernel TLS itself is in check-vm.  Then
# the library's broker calls, through libxmig.so and the public header.
check-broker: xmig $(O)/tests/fake-toolstack $(CERTS)/.made $(SONAME)
	@FAKE_TOOLSTACK=$(O)/tests/fake-toolstack XMIG=./xmig CERTS=$(CERTS) \
	  bash $(S)/tests/tls-broker.sh
	$(CC) -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
	  -I$(S)/include -o $(O)/tests/broker-api $(S)/tests/broker-api.c \
	  -L. -lxmig -Wl,-rpath,$(CURDIR) -lpthread $(SAN_FLAGS)
	@$(O)/tests/broker-api $(CERTS)

# Interop with stunnel4 both ways (SKIPPED without it, unless CI=true).
check-stunnel: xmig $(O)/tests/tls-pipe $(CERTS)/.made
	@TLS_PIPE=$(O)/tests/tls-pipe XMIG=./xmig CERTS=$(CERTS) \
	  bash $(S)/tests/stunnel.sh

# xmigd as a program: two daemons migrating over mutual TLS (on loopback
# and between network namespaces, or SKIPPED to loopback without them),
# concurrent migrations, failures and their messages, the control socket.
check-daemon: xmig bin/xmigd $(CERTS)/.made
	@XMIG=bin/xmig XMIGD=bin/xmigd CERTS=$(CERTS) bash $(S)/tests/daemon.sh

# A program that sees only the public header links against libxmig.so.
check-shared: $(SONAME)
	@mkdir -p $(O)/tests
	$(CC) -std=c99 -Wall -Werror -I$(S)/include -o $(O)/tests/shared-smoke \
	  $(S)/tests/shared-smoke.c -L. -lxmig -Wl,-rpath,$(CURDIR) $(SAN_FLAGS)
	@$(O)/tests/shared-smoke

# The ABI: exactly the listed symbols, each declared; no incompatible
# change against the release's baseline (abidiff, abigail-tools).
check-abi: $(SONAME)
	@sh $(S)/tests/abi.sh $(S) $(SONAME)

abi-baseline: $(SONAME)
	@mkdir -p $(S)/libxmig/abi
	abidw --headers-dir $(S)/include --out-file $(S)/libxmig/abi/libxmig.so.0.abi $(SONAME)

# The public headers compile alone, as pedantic C99 and as C++; no file
# includes from a layer above its own (tests/layers.sh).
check-headers:
	@sh $(S)/tests/layers.sh $(S)
	$(CC) -std=c99 -pedantic -Werror -Wall -Wextra -I$(S)/include \
	  -fsyntax-only $(S)/tests/compile-c99.c
	@if [ -n "$(CXX)" ]; then \
	  echo "$(CXX) -x c++ -fsyntax-only tests/compile-cxx.cc"; \
	  $(CXX) -std=c++11 -pedantic -Werror -Wall -I$(S)/include \
	    -fsyntax-only -x c++ $(S)/tests/compile-cxx.cc; fi

# kTLS for real: Debian's kernel and tls.ko under qemu (software emulation),
# tls-pipe at both ends inside the VM.  Not part of check (minutes, not
# seconds): CI runs it as a step of its own.  tests/vm/run.sh says what it
# proves; VM_MIB, VM_BIG_MIB, VM_ONLY and VM_TIMEOUT tune it.
check-vm: libxmig.a bin/xmig
	@XMIG_LIB=libxmig.a XMIG_BIN=bin/xmig CC="$(CC)" \
	  $(S)/tests/vm/build.sh $(O)/vm
	@$(S)/tests/vm/run.sh $(O)/vm

# Xen for real: Debian 12's Xen 4.17 and a Debian dom0 under qemu (software
# emulation), a PVH guest saved with xl and checked with xmig and Xen's
# verify-stream-v2, restored, live-migrated to localhost.  Not part of
# check (~10 minutes): CI runs it as a step of its own.  The first build
# needs root, network access and ~2.5 GB in $(O)/xen; later runs reuse it.
# tests/xen/run.sh says what it proves; XEN_MIGRATE and XEN_TIMEOUT tune it.
check-xen: xmig
	@XMIG=./xmig $(S)/tests/xen/check.sh $(O)/xen

# A second build, with ASan+UBSan, that runs the unit and CLI tests.
check-sanitizers:
	mkdir -p build-sanitizers
	cd build-sanitizers && $(abspath $(S))/configure --enable-sanitizers \
	  CC="$(CC)" CFLAGS="-O1 -g" >/dev/null && \
	  $(MAKE) --no-print-directory check-unit check-cli

# A third build, with ThreadSanitizer, that runs the daemon tests once
# (xmigd is where threads meet: handshakes, migrations, the control
# socket).  Any report fails the target; the reports stay in build-tsan/.
check-tsan:
	mkdir -p build-tsan
	rm -f build-tsan/tsan-report.*
	cd build-tsan && $(abspath $(S))/configure --enable-tsan \
	  CC="$(CC)" CFLAGS="-O1 -g" >/dev/null && \
	  TSAN_OPTIONS="log_path=$(CURDIR)/build-tsan/tsan-report \
	    suppressions=$(abspath $(S))/tests/tsan.supp second_deadlock_stack=1 \
	    history_size=7" \
	  $(MAKE) --no-print-directory check-daemon
	@if ls build-tsan/tsan-report.* >/dev/null 2>&1; then \
	  echo "check-tsan: ThreadSanitizer reports:"; \
	  head -n 60 build-tsan/tsan-report.*; exit 1; fi
	@echo "check-tsan: no ThreadSanitizer report"

# The sim guest's dirty tracking resumes faulting writes from a SIGSEGV
# handler: valgrind must keep guest registers exact at memory accesses.
valgrind: $(TEST_BINS)
	@for t in $(TEST_BINS); do \
	  echo "valgrind $$t"; \
	  valgrind -q --error-exitcode=9 --leak-check=full \
	    --vex-iropt-register-updates=allregs-at-mem-access $$t >/dev/null \
	    || exit 1; done

# ---- fuzzing ---------------------------------------------------------------

FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS_ALL := -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -g -O1 -std=c11 -D_GNU_SOURCE \
	-I$(S) -I$(S)/include $(JSON_CFLAGS)

# Harnesses of the programs' parsers take those files too.
FUZZ_EXTRA_fuzz_ctl := xmigd/ctl_json.c xmigd/ctl_requests.c \
	xmigd/hostport.c
FUZZ_EXTRA_fuzz_qmp := backends/xen/xen_qmp.c
FUZZ_EXTRA_fuzz_conf := xmigd/daemon_config.c xmigd/cli_number.c \
	xmigd/hostport.c

.SECONDEXPANSION:
$(O)/fuzz/%: $(S)/fuzz/%.c $(S)/fuzz/harness.h $(LIB_SRCS:%=$(S)/%) \
	$$(addprefix $(S)/,$$(FUZZ_EXTRA_$$*))
	@mkdir -p $(O)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS_ALL) -o $@ $< $(LIB_SRCS:%=$(S)/%) \
	  $(addprefix $(S)/,$(FUZZ_EXTRA_$*)) $(SSL_LIBS) \
	  $(JSON_LIBS) -lpthread -lm

fuzz-build: $(FUZZ_BINS)

# Each harness runs FUZZ_SECONDS on a copy of its committed seed corpus.
fuzz: fuzz-build
	@$(S)/fuzz/run.sh $(S)/fuzz/corpus $(FUZZ_SECONDS) $(FUZZ_BINS)

# Regenerate the committed seed corpus from the synthetic streams.
corpus: xmig
	@XMIG=./xmig $(S)/fuzz/make-corpus.sh $(S)/fuzz/corpus

# ---- benchmarks and demo ---------------------------------------------------

$(O)/bench/%: $(S)/bench/%.c libxmig.a
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -o $@ $< libxmig.a $(ALL_LDFLAGS) $(SSL_LIBS)

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	@$(MAKE) --no-print-directory bench-transport
	@$(MAKE) --no-print-directory bench-migrate

# The benchmark's two ends (and its timing helper): bench/xfer_peer.c.
$(O)/bench/xfer-peer: $(S)/bench/xfer_peer.c libxmig.a
	@mkdir -p $(O)/bench
	$(CC) $(ALL_CFLAGS) -o $@ $< libxmig.a $(ALL_LDFLAGS) $(SSL_LIBS)

# Bulk transfer over loopback: plain TCP, in-process TLS, stunnel pipeline.
# BENCH_GIB=N (default 2), BENCH_REPS=N (default 3).
bench-transport: xmig $(O)/bench/xfer-peer
	@XMIG=./xmig PEER=$(O)/bench/xfer-peer $(S)/bench/bench_transport.sh

# Live migration of sim guests (idle, medium, heavy) over plain TCP,
# in-process TLS and the stunnel pipeline, with the raw transport
# (tls-pipe) measured in the same run.  BENCH_GIB=N or BENCH_MIB=N (default
# 1 GiB), BENCH_REPS=N (default 3); bench/bench_migrate.sh lists the rest.
bench-migrate: xmig $(O)/tests/tls-pipe
	@XMIG=./xmig TLS_PIPE=$(O)/tests/tls-pipe $(S)/bench/bench_migrate.sh

demo: xmig
	@XMIG=./xmig $(S)/tests/demo.sh

demo-codec: xmig
	@XMIG=./xmig $(S)/tests/demo-codec.sh

# ---- install ---------------------------------------------------------------

DESTDIR ?=
# Where make install puts things; override on the command line (Debian:
# LIBDIR=/usr/lib/x86_64-linux-gnu, see debian/rules).
LIBDIR ?= $(prefix)/lib
INCDIR ?= $(prefix)/include
BINDIR ?= $(prefix)/bin
SBINDIR ?= $(prefix)/sbin
MANDIR ?= $(prefix)/share/man
DOCDIR ?= $(prefix)/share/doc/xmig
UNITDIR ?= $(prefix)/lib/systemd/system
COMPLETIONDIR ?= $(prefix)/share/bash-completion/completions
PUBLIC_HEADERS := xmig/types.h xmig/errors.h xmig/transparent.h

# Everything make install puts in place; make uninstall removes just these.
INSTALLED := $(LIBDIR)/libxmig.a $(LIBDIR)/$(SONAME) $(LIBDIR)/libxmig.so \
	$(LIBDIR)/pkgconfig/libxmig.pc $(INCDIR)/xmig.h \
	$(PUBLIC_HEADERS:%=$(INCDIR)/%) $(BINDIR)/xmig $(SBINDIR)/xmigd \
	$(MANDIR)/man1/xmig.1 $(MANDIR)/man8/xmigd.8 \
	$(UNITDIR)/xmigd.service $(DOCDIR)/xmigd.conf.example \
	$(COMPLETIONDIR)/xmig

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/xmig \
	  $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 libxmig.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SONAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libxmig.so
	install -m 644 $(S)/include/xmig.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(PUBLIC_HEADERS:%=$(S)/include/%) $(DESTDIR)$(INCDIR)/xmig/
	install -m 755 bin/xmig $(DESTDIR)$(BINDIR)/
	install -m 755 bin/xmigd $(DESTDIR)$(SBINDIR)/
	install -m 644 $(S)/docs/man/xmig.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(S)/docs/man/xmigd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 644 $(S)/dist/bash-completion/xmig $(DESTDIR)$(COMPLETIONDIR)/xmig
	sed -e 's|@sbindir@|$(SBINDIR)|' $(S)/dist/xmigd.service.in \
	  > $(DESTDIR)$(UNITDIR)/xmigd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/xmigd.service
	install -m 644 $(S)/dist/xmigd.conf.example $(DESTDIR)$(DOCDIR)/
	sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(LIBDIR)|' \
	  -e 's|@includedir@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	  $(S)/libxmig/libxmig.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libxmig.pc

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)
	-rmdir $(DESTDIR)$(INCDIR)/xmig $(DESTDIR)$(DOCDIR) 2>/dev/null

# make install into a scratch DESTDIR, then make uninstall: every file
# install put there is listed in INSTALLED and removed again.
check-install: all
	@rm -rf $(O)/stage && $(MAKE) -s install DESTDIR=$(CURDIR)/$(O)/stage \
	  prefix=/usr >/dev/null
	@for f in $(INSTALLED:%=$(O)/stage%); do f=$$(echo "$$f" | sed 's|$(prefix)|/usr|'); \
	  [ -e "$$f" ] || { echo "install: $$f missing"; exit 1; }; done
	@grep -q '^ExecStart=/usr/sbin/xmigd ' $(O)/stage/usr/lib/systemd/system/xmigd.service || \
	  { echo "install: the unit does not run /usr/sbin/xmigd"; exit 1; }
	@$(MAKE) -s uninstall DESTDIR=$(CURDIR)/$(O)/stage prefix=/usr
	@left=$$(find $(O)/stage -type f); [ -z "$$left" ] || \
	  { echo "install: make uninstall left $$left"; exit 1; }
	@echo "install: 1 passed, 0 failed"

clean:
	rm -rf $(O) libxmig.a libxmig.so $(SONAME) xmig bin build-sanitizers build-tsan \
	  demo-out

distclean: clean
	rm -f config.mk GNUmakefile

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(XMIGD_OBJS:.o=.d)
