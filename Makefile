# SPDX-License-Identifier: GPL-2.0
# Rust PCI endpoint doorbells for Linux 7.2: build, boot and test platform.
# Every target sets up what it needs (Debian 13 build root, Debian's
# linux-source-7.2, out-of-tree kernel builds) in a cache outside the
# repository: $(EPDB_CACHE), default /var/cache/rust-ep-doorbell.
# Needs root (debootstrap, chroot, mount namespaces).

EP := bash platform/ep.sh

.PHONY: run test soak bench bench-profile check kernel kernel-bench kernel-rcar kernel-qemu test-qemu series series-check clean-cache help

run:	## boot the test kernel and run the main scenario
	$(EP) run

test:	## KUnit + every end-to-end scenario; last line "N passed, N failed"
	$(EP) test $(SCENARIOS)

soak:	## fuzzer and life cycle soak at volume: >= 100000 commands, 1000 bind cycles on the Rust port, C seeds (not in CI)
	$(EP) soak $(SCENARIOS)

bench:	## C vs Rust pci-epf-test and doorbell allocator, table of medians (no checkers)
	$(EP) bench

bench-profile:	## perf profile (host perf) of the C and the Rust doorbell allocator (PROFILE_MODE=vntb-e2h: vNTB doorbell), per function
	$(EP) bench-profile

check:	## rustfmt, clippy (CLIPPY=1), checkpatch --strict, W=1 and sparse (C=2), rustdoc, dt_binding_check
	$(EP) check

kernel:	## build the UML test kernel (with checkers)
	$(EP) build um

kernel-bench:	## build the UML kernel without checkers (benchmarks)
	$(EP) build um-bench

kernel-rcar:	## the R-Car Gen4 endpoint kit in rcar-kit/ (RCAR_BASE=defconfig: on arm64 defconfig, in rcar-kit-defconfig/)
	$(EP) kernel-rcar

kernel-qemu:	## arm64 LLVM build: the R-Car kernel + QEMU virt + KUnit
	$(EP) kernel-qemu

test-qemu:	## the Rust KUnit suites on arm64 in QEMU (virt, GICv3 ITS, TCG)
	$(EP) test-qemu

series:	## series/: the patches for your own tree (pristine linux-source-7.2), with a cover letter
	$(EP) series

series-check:	## git am series/ on a pristine tree, checkpatch --strict each patch (SERIES_BUILD=1: build each)
	$(EP) series check

clean-cache:	## remove build directories and work trees (keeps build root and source)
	rm -rf "$$($(EP) cache)/build" "$$($(EP) cache)/work"

help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'
