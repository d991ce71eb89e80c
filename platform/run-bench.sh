#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: boot the um-bench kernel (no checkers) once per doorbell mode,
# run the bench scenario (platform/scenarios/bench.sh) and print the table of
# medians, C column vs Rust column, plus object text sizes.  Runs inside the
# build root.  Usage: run-bench.sh REPO WORKTREE BUILDDIR LOGDIR [UMBUILDDIR]
# BUILDDIR is the um-bench kernel's; UMBUILDDIR, the test kernel's, whose
# configuration the bench kernel's is compared with.
# Environment: BENCH_ROUNDS (default 5), BENCH_MODES (default "msi embedded"),
# BENCH_CONF (default platform/bench.conf; platform/bench-noise.conf has the C
# function in both columns, to see the noise), BENCH_SECTIONS (default "epf
# vntb": the pci-epf-test section, the vNTB section), BENCH_VNTB_MODES
# (default "none msi embedded msi+timer embedded+timer").
set -uo pipefail
repo=$1 work=$2 out=$3 logs=$4 umout=${5:-}
rounds=${BENCH_ROUNDS:-5}
modes=${BENCH_MODES:-msi embedded}
vmodes=${BENCH_VNTB_MODES:-none msi embedded msi+timer embedded+timer}
sections=" ${BENCH_SECTIONS:-epf vntb} "
has_section() { [[ $sections == *" $1 "* ]]; }
mkdir -p "$logs"
rm -f "$logs"/bench.*

conf=$repo/${BENCH_CONF:-platform/bench.conf}
col() { # COLUMN FIELD(2=function, 3=object)
	awk -v c="$1" -v f="$2" '$1 == c { print $f }' "$conf"
}
fa=$(col C 2) fb=$(col Rust 2) oa=$(col C 3) ob=$(col Rust 3)
[ -n "$fa" ] && [ -n "$fb" ] || { echo "bench: $conf needs a C and a Rust line" >&2; exit 1; }
# The vNTB section's columns: "vntb-C FUNCTION", "vntb-Rust FUNCTION" lines,
# as COLUMN:FUNCTION,... for the scenario.
vcols=$(awk '$1 ~ /^vntb-/ { sub(/^vntb-/, "", $1); printf "%s%s:%s", n++ ? "," : "", $1, $2 }' "$conf")

# The bench kernel is um.config without the checkers: it must have the same
# endpoint functions and drivers as the test kernel (compared when built).
um=$umout/.config
if [ -n "$umout" ] && [ -f "$um" ]; then
	pick() { grep -E '^CONFIG_(PCI|NTB|UML_PCI|RUST_PCI|DMA_ENGINE)[A-Z0-9_]*=' "$1" |
		grep -v DEBUG | sort; }
	if ! d=$(diff <(pick "$um") <(pick "$out/.config")); then
		echo "bench: warning: PCI/NTB options differ from the um kernel's:" >&2
		printf '%s\n' "$d" >&2
	fi
fi

. "$repo/platform/tap.sh"
bash "$repo/platform/initramfs.sh" "$repo" "$work" "$out" || exit 1

raw=$logs/bench.raw
: >"$raw"
fail=0
# bench_boot NAME WHAT LIMIT KERNEL-ARGS...: one boot of the um-bench kernel,
# console in logs/bench.NAME.log, its BENCH lines appended to bench.raw.
bench_boot() {
	local name=$1 what=$2 limit=$3 log=$logs/bench.$1.log rc
	shift 3
	echo "bench: booting um-bench, $what, $rounds rounds ($log)" >&2
	bash "$repo/platform/boot-kernel.sh" "$out/linux" "$out/initramfs.cpio.gz" "$log" "$limit" \
		loglevel=5 bench_rounds="$rounds" "$@" >"$logs/bench.$name.boot" 2>&1
	rc=$?
	# The scenario's TAP, for the record.
	tap_of_scenario "$log" >&2
	if [ $rc != 0 ]; then
		echo "bench: the $what boot failed (exit $rc); see $log" >&2
		cat "$logs/bench.$name.boot" >&2
		fail=1
	fi
	grep '^BENCH ' "$log" >>"$raw"
}

has_section epf || modes=""
for mode in $modes; do
	bench_boot "$mode" "$mode doorbells" 1200 scenario=bench dtb="$out/dtb/$mode.dtb" \
		doorbell="$mode" bench_a="$fa" bench_b="$fb"
done

# The vNTB section: one boot per doorbell mode, the two-*-imx8 devicetrees
# (two controllers with the BAR layout ntb_hw_epf expects, one per column),
# the functions of the vntb-* lines.
has_section vntb && [ -z "$vcols" ] && { echo "bench: $conf has no vntb-C line" >&2; exit 1; }
has_section vntb || vmodes=""
# MODE+timer: the loopback signals doorbells from a hard hrtimer
# (pci_loopback_ep.doorbell_timer=1) instead of an irq_work (next tick).
for label in $vmodes; do
	mode=${label%+timer} extra=""
	[ "$mode" = "$label" ] || extra=pci_loopback_ep.doorbell_timer=1
	bench_boot "vntb-$label" "vNTB, $label doorbells" 1800 scenario=bench-vntb \
		dtb="$out/dtb/two-$mode-imx8.dtb" doorbell="$mode" bench_label="$label" \
		bench_vntb="$vcols" $extra
done

prc=0
if has_section epf; then
# Text sizes.  Whole objects: the sum of the code sections (llvm-size -A:
# .text*, and .ltext of clang's large code model on UML, .init.text,
# .exit.text).  The Rust doorbell code is linked into rust/kernel.o with the
# rest of the kernel crate: the sum of the llvm-nm -S sizes of its text
# symbols (t/T) whose demangled name is in kernel::pci::endpoint::doorbell
# (KUnit tests, also the hardware ones, left out), plus the exported pci_epf_*_doorbell* entry points;
# pci-ep-msi.o is counted the same way (all its text symbols).
text_o() { # OBJECT
	[ -f "$out/$1" ] || { echo "n/a"; return; }
	llvm-size -A "$out/$1" | awk '$1 ~ /^\.(l?text|init\.text|exit\.text)/ { s += $2 } END { print s + 0 }'
}
text_nm() { # OBJECT [DEMANGLED-NAME-REGEX [EXCLUDED-REGEX]]
	[ -f "$out/$1" ] || { echo "n/a"; return; }
	llvm-nm -S -C --defined-only "$out/$1" | python3 -c '
import re, sys
pat, skip = re.compile(sys.argv[1]), re.compile(sys.argv[2])
total = 0
for line in sys.stdin:
    f = line.rstrip("\n").split(" ", 3)
    if len(f) == 4 and f[2] in ("t", "T") and pat.search(f[3]) and not skip.search(f[3]):
        total += int(f[1], 16)
print(total)' "${2:-.}" "${3:-^$}"
}
rdb='kernel::pci::endpoint::doorbell|^pci_epf_(alloc|free)_doorbell'
rtests='::(hw_)?tests::|core::panicking::assert_failed'
# The Rust-only API on top (for Rust functions): Doorbells, DoorbellMsg,
# DoorbellIrq, alloc_doorbell() and what only they use.
rapi="$rtests|Doorbells|DoorbellMsg|DoorbellIrq|RequestGuard|doorbell::alloc_doorbell\$|fmt::Debug"
{
	echo "SIZE epf_text $(text_o "$oa") $(text_o "$ob")"
	echo "SIZE epf_nm $(text_nm "$oa") $(text_nm "$ob")"
	c=$(text_nm drivers/pci/endpoint/pci-ep-msi.o)
	echo "SIZE db_nm $c $(text_nm rust/kernel.o "$rdb" "$rtests")"
	echo "SIZE db_capi_nm $c $(text_nm rust/kernel.o "$rdb" "$rapi")"
} >"$logs/bench.sizes"

BENCH_CONF_NAME=${conf#"$repo"/} \
python3 - "$raw" "$logs/bench.sizes" "$fa" "$fb" "$oa" "$ob" "$rounds" <<'PY' | tee "$logs/bench.table"
import os, statistics, sys
raw, sizes, fa, fb, oa, ob, rounds = sys.argv[1:]
data = {}
modes = []
for line in open(raw):
    _, mode, col, rnd, metric, value = line.split()
    if mode.startswith("vntb-"):
        continue  # the vNTB section's lines, platform/bench-vntb-table.py
    if mode not in modes:
        modes.append(mode)
    data.setdefault((mode, metric), {}).setdefault(col, {})[int(rnd)] = float(value)

# (key, label, optional): the EP-side rows come from the function's own rate
# log line and are left out if it logs none.
labels = [("doorbell", "doorbell round trips/s", False)]
for op in ("read", "write", "copy"):
    for size, sz in (("4k", "4 KiB"), ("64k", "64 KiB"), ("1m", "1 MiB")):
        for dma, d in (("", ""), ("_dma", " DMA")):
            labels.append((f"{op}_{size}{dma}", f"{op.upper()} {sz}{d} MB/s", False))
            labels.append((f"{op}_{size}{dma}_ep", f"  EP side (function's rate line) MB/s", True))
labels.append(("alloc_free", "alloc_doorbell+free ns (lower is better)", False))

print("make bench: um-bench kernel (no checkers), medians over n rounds")
print(f"  C column: {fa}, Rust column: {fb} ({os.environ['BENCH_CONF_NAME']})")
print("  alloc_doorbell+free: pci-ep-msi.c vs kernel::pci::endpoint::doorbell")
print(f"{'mode':<9} {'metric':<42} {'C':>10} {'Rust':>10} {'Rust/C':>7} {'n':>3} {'spread':>6}")
def paired(c, r):
    # The ratios Rust/C of the repetitions of the same round: the two
    # columns of a round run back to back, while the speed of the UML
    # process drifts over seconds with the host.
    return [r[k] / c[k] for k in sorted(set(c) & set(r)) if c[k]]

def spread(ratios):
    # The interquartile range of the paired ratios over their median: a
    # ratio that differs from 1 by less than this is not resolved.
    if len(ratios) < 4 or not statistics.median(ratios):
        return "n/a"
    q = statistics.quantiles(ratios, n=4)
    return f"{100 * (q[2] - q[0]) / statistics.median(ratios):.0f}%"

def fmt(v):
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"

short = False
for mode in modes:
    for key, label, optional in labels:
        cols = data.get((mode, key), {})
        c, r = cols.get("C", cols.get("A", {})), cols.get("Rust", cols.get("B", {}))
        if optional and not c and not r:
            continue
        if optional and (not c or not r):
            # Only one of the functions logs rate lines: nothing to compare.
            fc = fmt(statistics.median(c.values())) if c else "n/a"
            fr = fmt(statistics.median(r.values())) if r else "n/a"
            print(f"{mode:<9} {label:<42} {fc:>10} {fr:>10}")
            continue
        if not c or not r:
            print(f"{mode:<9} {label:<42} {'missing':>10}")
            short = True
            continue
        mc, mr = statistics.median(c.values()), statistics.median(r.values())
        ratios = paired(c, r)
        ratio = f"{statistics.median(ratios):.3f}" if ratios else "n/a"
        n = len(ratios)
        short |= n < int(rounds)
        print(f"{mode:<9} {label:<42} {fmt(mc):>10} {fmt(mr):>10} {ratio:>7} {n:>3} {spread(ratios):>6}")

print()
print(f"{'text size (bytes)':<52} {'C':>10} {'Rust':>10} {'Rust/C':>7}")
names = {
    "epf_text": f"function object, code sections (llvm-size -A)",
    "epf_nm": f"function object, text symbols (nm -S)",
    "db_nm": "doorbell allocator, text symbols (nm -S)",
    "db_capi_nm": "  of it behind pci_epf_alloc_doorbell()/free",
}
for line in open(sizes):
    _, key, c, r = line.split()
    ratio = f"{int(r) / int(c):.3f}" if c.isdigit() and r.isdigit() and int(c) else "n/a"
    print(f"{names[key]:<52} {c:>10} {r:>10} {ratio:>7}")
print(f"  function objects: C {oa}, Rust {ob}")
print("  doorbell allocator: C drivers/pci/endpoint/pci-ep-msi.o; Rust the symbols of")
print("  kernel::pci::endpoint::doorbell (no KUnit tests) and pci_epf_*_doorbell* in")
print("  rust/kernel.o, then without the Rust-only API (Doorbells, DoorbellMsg, DoorbellIrq)")
if short:
    print("bench: some measurements are missing; see logs/bench.*.log")
    sys.exit(1)
PY
prc=${PIPESTATUS[0]}
fi # epf

if has_section vntb; then
	python3 "$repo/platform/bench-vntb-table.py" "$raw" "$rounds" | tee -a "$logs/bench.table"
	[ "${PIPESTATUS[0]}" = 0 ] || prc=1
fi
echo "raw per-repetition numbers: logs/bench.raw; console logs: logs/bench.<mode>.log" >&2
[ $fail = 0 ] && [ "$prc" = 0 ]
