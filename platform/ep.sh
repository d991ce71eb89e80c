#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Entry point behind the top-level Makefile.
#   ep.sh build [um|um-bench|rcar|qemu]   set up and build a kernel variant
#   ep.sh kernel-rcar | kernel-qemu  build the arm64 Image (R-Car; R-Car + QEMU virt + KUnit)
#   ep.sh test-qemu                  the Rust KUnit suites on arm64 in QEMU (TAP)
#   ep.sh test [NAME...]             KUnit + end-to-end scenarios (TAP)
#   ep.sh run                        build and run the main scenario
#   ep.sh soak                       the register fuzzer at volume (platform/matrix.soak)
#   ep.sh bench                      C vs Rust benchmark in the um-bench kernel
#   ep.sh bench-profile              perf profile of the two doorbell allocators (host perf)
#   ep.sh check                      rustfmt, clippy, checkpatch, rustdoc
#   ep.sh series [check]             the patch series for another tree (series/), and its check
#   ep.sh cache                      print the cache directory
. "$(dirname "$0")/lib.sh"

setup() {
	bash "$PLATFORM_DIR/buildroot.sh"
	bash "$PLATFORM_DIR/source.sh"
	VER=$(cat "$CACHE_DIR/src/current")
	SRC=$CACHE_DIR/src/$VER
	WORK=$CACHE_DIR/work/$VER
	log "linux-source-7.2 $VER (Debian), build root $(basename "$BUILDROOT")"
}

assemble() {
	in_root /bin/bash "$PLATFORM_DIR/assemble.sh" "$REPO_DIR" "$SRC" "$WORK" &
	progress_wait $! "work tree" assemble_status || die "cannot assemble the work tree $WORK"
}

# The work tree being assembled: the staged copy of the source while the
# series is applied, then the tree itself.
assemble_status() {
	if [ -d "$WORK.stage" ]; then echo "source copied and patched: $(du -sm "$WORK.stage" | cut -f1) MB"
	else echo "syncing $(du -sm "$WORK" | cut -f1) MB"; fi
}

# build VARIANT [TARGETS...]: out-of-tree build; output in $OUT/build.log.
build() {
	local variant=$1 arch frags cfg=$PLATFORM_DIR/configs
	shift
	case $variant in
	um) arch=um frags=("$cfg/um.config" "$cfg/checkers.config") ;;
	um-bench) arch=um frags=("$cfg/um.config" "$cfg/nocheckers.config") ;;
	rcar) arch=arm64 frags=("$cfg/rcar.config") ;;
	qemu) arch=arm64 frags=("$cfg/rcar.config" "$cfg/checkers.config" "$cfg/qemu-arm64.config") ;;
	*) die "unknown kernel variant $variant" ;;
	esac
	OUT=$CACHE_DIR/build/$VER/$variant
	mkdir -p "$OUT"
	local t0=$(date +%s) before after objs
	before=$(stat -c %Y "$OUT/vmlinux" 2>/dev/null || echo none)
	touch "$OUT/.build-start"
	in_root /bin/bash "$PLATFORM_DIR/build.sh" "$REPO_DIR" "$WORK" "$OUT" "$arch" \
		"${frags[@]}" -- "$@" >"$OUT/build.log" 2>&1 &
	if ! progress_wait $! "kernel $variant" build_status; then
		grep -E 'error|Error|build:' "$OUT/build.log" | head -40 >&2
		die "kernel build ($variant) failed; full log: $OUT/build.log"
	fi
	after=$(stat -c %Y "$OUT/vmlinux" 2>/dev/null || echo none)
	objs=$(find "$OUT" -name '*.o' -newer "$OUT/.build-start" | wc -l)
	find "$OUT" -name '*.o' | wc -l >"$OUT/.objects"
	if [ "$before" = "$after" ]; then
		log "kernel $variant up to date, no rebuild ($(( $(date +%s) - t0 )) s)"
	else
		log "kernel $variant rebuilt ($(( $(date +%s) - t0 )) s, $objs objects compiled; log $OUT/build.log)"
	fi
}

# How far the running kernel build is: objects compiled since it started,
# against the object count of the tree after the previous build, and the
# directory of the newest one (Kbuild descends the tree in a fixed order).
build_status() {
	local total
	total=$(cat "$OUT/.objects" 2>/dev/null || true)
	find "$OUT" -name '*.o' -newer "$OUT/.build-start" -printf '%T@ %h\n' |
		awk -v total="$total" -v out="$OUT/" '
		$1 > t { t = $1; d = $2 }
		END {
			if (index(d, out) == 1) d = substr(d, length(out) + 1)
			if (total > 0) printf "%d of about %d objects (%d%%)", NR, total, 100 * NR / total
			else printf "%d objects compiled (first build here, no total yet)", NR
			if (NR) printf ", now in %s/", d
		}'
}

cmd=${1:-}; shift || true
case $cmd in
build)
	setup; assemble; build "${1:-um}"
	;;
test)
	# One test kernel: both doorbell allocators, chosen at boot.
	setup; assemble; build um
	in_root /bin/bash "$PLATFORM_DIR/run-tests.sh" "$REPO_DIR" "$WORK" "$OUT" \
		"${EPDB_LOGS:-$REPO_DIR/logs}" "$@"
	;;
soak)
	# The fuzzer at volume (platform/matrix.soak), then its figures.
	setup; assemble; build um
	logs=${EPDB_LOGS:-$REPO_DIR/logs}
	rc=0
	in_root /usr/bin/env EPDB_MATRIX="$PLATFORM_DIR/matrix.soak" /bin/bash \
		"$PLATFORM_DIR/run-tests.sh" "$REPO_DIR" "$WORK" "$OUT" "$logs" \
		$(awk '/^[^#]/ { sub(/^!/, "", $1); print $1 }' "$PLATFORM_DIR/matrix.soak") || rc=$?
	bash "$PLATFORM_DIR/soak-summary.sh" "$logs"
	exit $rc
	;;
run)
	setup; assemble; build um
	in_root /usr/bin/env EPDB_RUNNER=run /bin/bash "$PLATFORM_DIR/run-tests.sh" "$REPO_DIR" \
		"$WORK" "$OUT" "${EPDB_LOGS:-$REPO_DIR/logs}" "${EPDB_RUN:-rs-epf-test-msi}"
	;;
bench)
	# Checkers off; same endpoint functions and drivers as um (um.config).
	setup; assemble; build um-bench
	in_root BENCH_ROUNDS="${BENCH_ROUNDS:-5}" BENCH_MODES="${BENCH_MODES:-msi embedded}" \
		BENCH_CONF="${BENCH_CONF:-platform/bench.conf}" \
		/bin/bash "$PLATFORM_DIR/bench.sh" "$REPO_DIR" "$WORK" "$OUT" "${EPDB_LOGS:-$REPO_DIR/logs}"
	;;
bench-profile)
	setup; assemble; build um-bench
	in_root /bin/bash "$PLATFORM_DIR/initramfs.sh" "$REPO_DIR" "$WORK" "$OUT"
	OUT=$OUT . "$PLATFORM_DIR/profile.sh" "${EPDB_LOGS:-$REPO_DIR/logs}"
	;;
check)
	setup; assemble
	OUT=$CACHE_DIR/build/$VER/um
	[ -f "$OUT/.config" ] || build um
	in_root /bin/bash "$PLATFORM_DIR/check.sh" "$REPO_DIR" "$WORK" "$OUT" "$CACHE_DIR/build/$VER/um-clippy" \
		"$CACHE_DIR/build/$VER/dt-check"
	;;
kernel-rcar)
	setup; assemble; build rcar Image
	ls -l "$OUT/arch/arm64/boot/Image"
	;;
kernel-qemu)
	setup; assemble; build qemu Image
	ls -l "$OUT/arch/arm64/boot/Image"
	;;
test-qemu)
	# The arm64 kernel in QEMU (virt, GICv3 + ITS, TCG): the Rust KUnit suites.
	setup; assemble; build qemu Image
	in_root /bin/bash "$PLATFORM_DIR/run-qemu.sh" "$REPO_DIR" "$WORK" "$OUT" \
		"${EPDB_LOGS:-$REPO_DIR/logs}"
	;;
series)
	# series/: the patch series for another tree; `series check` applies it
	# with git am and runs checkpatch (SERIES_BUILD=1: builds each step).
	setup; assemble
	bash "$PLATFORM_DIR/series.sh" "$SRC" "$WORK" "$@"
	;;
cache)
	echo "$CACHE_DIR"
	;;
*)
	sed -n '3,14p' "$0" >&2; exit 2
	;;
esac
