#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Entry point behind the top-level Makefile.
#   ep.sh build [um|um-bench|rcar|qemu]   set up and build a kernel variant
#   ep.sh kernel-rcar                the R-Car Gen4 kit in rcar-kit/ (Image, DTBs, overlays, initramfs;
#                                    RCAR_BASE=defconfig: on arm64 defconfig, in rcar-kit-defconfig/)
#   ep.sh kernel-qemu                build the arm64 Image (R-Car + QEMU virt + KUnit)
#   ep.sh test-qemu                  the Rust KUnit suites on arm64 in QEMU (TAP)
#   ep.sh test [NAME...]             KUnit + end-to-end scenarios (TAP)
#   ep.sh run                        build and run the main scenario
#   ep.sh soak [NAME...]             the fuzzer and the life cycle soak at volume (platform/matrix.soak)
#   ep.sh bench                      C vs Rust benchmark in the um-bench kernel
#   ep.sh bench-profile              perf profile of the two doorbell allocators or vNTB doorbells (host perf)
#   ep.sh check                      rustfmt, clippy, checkpatch, rustdoc
#   ep.sh series [check]             the patch series for another tree (series/), and its check
#   ep.sh cache                      print the cache directory
. "$(dirname "$0")/lib.sh"

# setup: the build root and the kernel source (each made once, then reused);
# prints the Debian version of the source, which names the directories below.
setup() {
	local ver
	bash "$PLATFORM_DIR/buildroot.sh" >&2 || die "cannot set up the build root"
	bash "$PLATFORM_DIR/source.sh" >&2 || die "cannot fetch the kernel source"
	ver=$(cat "$CACHE_DIR/src/current") || die "no kernel source version in $CACHE_DIR/src/current"
	log "linux-source-7.2 $ver (Debian), build root $(basename "$BUILDROOT")"
	echo "$ver"
}

# src_dir VERSION / work_dir VERSION / build_dir VERSION VARIANT: the pristine
# source, the assembled work tree, and a kernel variant's build directory.
src_dir() { echo "$CACHE_DIR/src/$1"; }
work_dir() { echo "$CACHE_DIR/work/$1"; }
build_dir() { echo "$CACHE_DIR/build/$1/$2"; }

# assemble VERSION: the work tree, pristine source + patches + our files.
assemble() {
	local work
	work=$(work_dir "$1")
	in_root /bin/bash "$PLATFORM_DIR/assemble.sh" "$REPO_DIR" "$(src_dir "$1")" "$work" &
	progress_wait $! "work tree" "assemble_status $work" || die "cannot assemble the work tree $work"
}

# assemble_status WORK: how far the assembly of the work tree WORK is: the
# staged copy of the source while the series is applied, then the tree itself.
assemble_status() {
	if [ -d "$1.stage" ]; then echo "source copied and patched: $(du -sm "$1.stage" | cut -f1) MB"
	else echo "syncing $(du -sm "$1" | cut -f1) MB"; fi
}

# build VERSION VARIANT [TARGETS...]: out-of-tree build of a kernel variant;
# prints its build directory (compiler output in build.log there).
build() {
	local ver=$1 variant=$2 arch frags cfg=$PLATFORM_DIR/configs out
	shift 2
	case $variant in
	um) arch=um frags=("$cfg/um.config" "$cfg/checkers.config") ;;
	um-bench) arch=um frags=("$cfg/um.config" "$cfg/nocheckers.config") ;;
	rcar) arch=arm64 frags=("$cfg/rcar.config") ;;
	rcar-defconfig) arch=arm64 frags=("$cfg/rcar.config" "$cfg/defconfig-base.config") ;;
	qemu) arch=arm64 frags=("$cfg/rcar.config" "$cfg/checkers.config" "$cfg/qemu-arm64.config") ;;
	*) die "unknown kernel variant $variant" ;;
	esac
	out=$(build_dir "$ver" "$variant")
	mkdir -p "$out"
	local t0=$(date +%s) before after objs
	before=$(stat -c %Y "$out/vmlinux" 2>/dev/null || echo none)
	touch "$out/.build-start"
	in_root /bin/bash "$PLATFORM_DIR/build.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" "$arch" \
		"${frags[@]}" -- "$@" >"$out/build.log" 2>&1 &
	if ! progress_wait $! "kernel $variant" "build_status $out"; then
		grep -E 'error|Error|build:' "$out/build.log" | head -40 >&2
		die "kernel build ($variant) failed; full log: $out/build.log"
	fi
	after=$(stat -c %Y "$out/vmlinux" 2>/dev/null || echo none)
	objs=$(find "$out" -name '*.o' -newer "$out/.build-start" | wc -l)
	find "$out" -name '*.o' | wc -l >"$out/.objects"
	if [ "$before" = "$after" ]; then
		log "kernel $variant up to date, no rebuild ($(( $(date +%s) - t0 )) s)"
	else
		log "kernel $variant rebuilt ($(( $(date +%s) - t0 )) s, $objs objects compiled; log $out/build.log)"
	fi
	echo "$out"
}

# build_status OUT: how far the kernel build in OUT is: objects compiled
# since it started, against the object count of the tree after the previous
# build, and the directory of the newest one (Kbuild descends the tree in a
# fixed order).
build_status() {
	local out=$1 total
	total=$(cat "$out/.objects" 2>/dev/null || true)
	find "$out" -name '*.o' -newer "$out/.build-start" -printf '%T@ %h\n' |
		awk -v total="$total" -v out="$out/" '
		$1 > t { t = $1; d = $2 }
		END {
			if (index(d, out) == 1) d = substr(d, length(out) + 1)
			if (total > 0) printf "%d of about %d objects (%d%%)", NR, total, 100 * NR / total
			else printf "%d objects compiled (first build here, no total yet)", NR
			if (NR) printf ", now in %s/", d
		}'
}

cmd=${1:-}; shift || true
logs=${EPDB_LOGS:-$REPO_DIR/logs}
case $cmd in
build)
	ver=$(setup); assemble "$ver"
	build "$ver" "${1:-um}" >/dev/null
	;;
test)
	# One test kernel: both doorbell allocators, chosen at boot.
	ver=$(setup); assemble "$ver"; out=$(build "$ver" um)
	in_root /bin/bash "$PLATFORM_DIR/run-tests.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" \
		"$logs" "$@"
	;;
soak)
	# The fuzzer and the life cycle soak at volume (the boots of
	# platform/matrix.soak, no KUnit boot), then their figures.
	ver=$(setup); assemble "$ver"; out=$(build "$ver" um)
	. "$PLATFORM_DIR/matrix.sh"
	names=$(matrix_names "$PLATFORM_DIR/matrix.soak") || die "platform/matrix.soak is malformed"
	# With names (make soak SCENARIOS="..."), only those boots.
	if [ $# -gt 0 ]; then
		for n in "$@"; do
			printf '%s\n' $names | grep -qxF -- "$n" || die "no boot $n in platform/matrix.soak"
		done
		names="$*"
	fi
	rc=0
	in_root /usr/bin/env EPDB_MATRIX="$PLATFORM_DIR/matrix.soak" /bin/bash \
		"$PLATFORM_DIR/run-tests.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" "$logs" \
		$names || rc=$?
	bash "$PLATFORM_DIR/soak-summary.sh" "$PLATFORM_DIR/matrix.soak" "$logs"
	exit $rc
	;;
run)
	ver=$(setup); assemble "$ver"; out=$(build "$ver" um)
	in_root /usr/bin/env EPDB_RUNNER=run /bin/bash "$PLATFORM_DIR/run-tests.sh" "$REPO_DIR" \
		"$(work_dir "$ver")" "$out" "$logs" "${EPDB_RUN:-rs-epf-test-msi}"
	;;
bench)
	# Checkers off; same endpoint functions and drivers as um (um.config),
	# which run-bench.sh compares with the um kernel's configuration.
	ver=$(setup); assemble "$ver"; out=$(build "$ver" um-bench)
	in_root BENCH_ROUNDS="${BENCH_ROUNDS:-5}" BENCH_MODES="${BENCH_MODES:-msi embedded}" \
		BENCH_CONF="${BENCH_CONF:-platform/bench.conf}" \
		BENCH_SECTIONS="${BENCH_SECTIONS:-epf vntb}" \
		BENCH_VNTB_MODES="${BENCH_VNTB_MODES:-none msi embedded msi+timer embedded+timer}" \
		/bin/bash "$PLATFORM_DIR/run-bench.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" "$logs" \
		"$(build_dir "$ver" um)"
	;;
bench-profile)
	ver=$(setup); assemble "$ver"; out=$(build "$ver" um-bench)
	in_root /bin/bash "$PLATFORM_DIR/initramfs.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out"
	bash "$PLATFORM_DIR/profile.sh" "$out" "$logs"
	;;
check)
	ver=$(setup); assemble "$ver"
	out=$(build_dir "$ver" um)
	[ -f "$out/.config" ] || build "$ver" um >/dev/null
	in_root /bin/bash "$PLATFORM_DIR/check.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" \
		"$(build_dir "$ver" um-clippy)" "$(build_dir "$ver" dt-check)"
	;;
kernel-rcar)
	# The kit: Image, DTBs and overlays, initramfs, checks (platform/rcar).
	# RCAR_BASE=defconfig: rcar.config on top of arm64 defconfig, into
	# rcar-kit-defconfig/.
	case ${RCAR_BASE:-allnoconfig} in
	allnoconfig) variant=rcar kit=$REPO_DIR/rcar-kit ;;
	defconfig) variant=rcar-defconfig kit=$REPO_DIR/rcar-kit-defconfig ;;
	*) die "RCAR_BASE=$RCAR_BASE: allnoconfig (default) or defconfig" ;;
	esac
	ver=$(setup); assemble "$ver"; out=$(build "$ver" "$variant" Image dtbs)
	in_root /bin/bash "$PLATFORM_DIR/rcar/kit.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" \
		"$kit" "$CACHE_DIR/downloads/arm64"
	ls -l "$kit"
	;;
kernel-qemu)
	ver=$(setup); assemble "$ver"; out=$(build "$ver" qemu Image)
	ls -l "$out/arch/arm64/boot/Image"
	;;
test-qemu)
	# The arm64 kernel in QEMU (virt, GICv3 + ITS, TCG): the Rust KUnit suites.
	ver=$(setup); assemble "$ver"; out=$(build "$ver" qemu Image)
	in_root /bin/bash "$PLATFORM_DIR/run-qemu.sh" "$REPO_DIR" "$(work_dir "$ver")" "$out" "$logs"
	;;
series)
	# series/: the patch series for another tree; `series check` applies it
	# with git am and runs checkpatch (SERIES_BUILD=1: builds each step).
	ver=$(setup); assemble "$ver"
	bash "$PLATFORM_DIR/series.sh" "$(src_dir "$ver")" "$(work_dir "$ver")" "$@"
	;;
cache)
	echo "$CACHE_DIR"
	;;
*)
	sed -n '3,15p' "$0" >&2; exit 2
	;;
esac
