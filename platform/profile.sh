#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make bench-profile`: where the alloc+free time of each doorbell allocator
# goes.  Boots the um-bench kernel with the allocator part of the bench
# scenario (bench_parts=alloc), which keeps pci_epf_dbbench allocating and
# freeing with the C (pci-ep-msi.c) and the Rust
# (kernel::pci::endpoint::doorbell) allocator alternately, under perf on
# the host: to the host, the UML kernel is the user-space code of its `linux`
# process, so perf resolves its functions from the kernel image and unwinds
# its stacks by frame pointers.  A sample belongs to the allocator whose
# entry point (pci_epf_{alloc,free}_doorbell or their _rust twins) is on its
# stack.  Prints, per function, the self time it takes per alloc+free pair
# for each allocator, from time-based samples (cpu-clock at PROFILE_FREQ Hz:
# a sample is 1/FREQ s); the time the host spends in a system call of UML
# counts for the UML function that made it.
#
# PROFILE_MODE=vntb-h2e profiles the endpoint's doorbell interrupt handler
# of each function instead (epf_ntb_doorbell_handler; the Rust port's
# handle_irq_callback of its DbHandler), for 100000 host -> endpoint
# doorbells signalled by the loopback's hrtimer (doorbell_timer=1).
#
# PROFILE_MODE=vntb-e2h profiles one endpoint -> host doorbell of each vNTB
# function instead (platform/bench.conf's vntb lines, MSI doorbells): the
# vNTB bench scenario with only ntb_dblat's endpoint -> host runs
# (bench_vntb_parts=e2h) of 100000 rings each, the columns alternately; a
# sample belongs to the function whose peer_db_set or doorbell work
# (pci-epf-vntb: vntb_epf_peer_db_set, vntb_epf_peer_db_work; the Rust port:
# its NTB adapter's peer_db_set and the work function of the poll's wake
# work) is on its stack, which includes the host's interrupt, delivered
# within raise_irq().
#
# Runs on the host, called by ep.sh once the kernel and the initramfs in
# BUILDDIR are built; needs perf there.  Usage: profile.sh BUILDDIR LOGDIR
# Environment: PROFILE_MODE (embedded, msi, vntb-e2h or vntb-h2e),
# PROFILE_RUNS (40 runs of 100000 pairs per allocator; 10 runs of 100000
# doorbells with vntb-*), PROFILE_FREQ (4999), PROFILE_TOP (20).
. "$(dirname "$0")/lib.sh"
. "$PLATFORM_DIR/tap.sh"
out=$1 logs=$2
mode=${PROFILE_MODE:-embedded}
pairs=100000
case $mode in
vntb-e2h | vntb-h2e)
	runs=${PROFILE_RUNS:-10}
	way=${mode#vntb-}
	vcols=$(awk '$1 ~ /^vntb-/ { sub(/^vntb-/, "", $1); printf "%s%s:%s", n++ ? "," : "", $1, $2 }' \
		"$PLATFORM_DIR/bench.conf")
	what="$runs x $pairs doorbells $way per vNTB function, MSI doorbells"
	# host -> endpoint: signalled from the loopback's hrtimer, not the next tick
	timer=""
	[ "$way" = e2h ] || timer=pci_loopback_ep.doorbell_timer=1
	boot_args="scenario=bench-vntb dtb=$out/dtb/two-msi-imx8.dtb doorbell=msi bench_label=msi
		bench_vntb=$vcols bench_vntb_parts=$way bench_dblat_rings=$pairs bench_rounds=$runs $timer"
	bench_re="^BENCH vntb-msi [^ ]* [0-9]* db_${way}_mean "
	;;
msi | embedded)
	runs=${PROFILE_RUNS:-40}
	what="$runs x $pairs alloc+free pairs per allocator, $mode doorbells"
	boot_args="scenario=bench dtb=$out/dtb/$mode.dtb doorbell=$mode bench_parts=alloc
		bench_dbn=$pairs bench_dbrounds=$runs"
	bench_re='^BENCH .* alloc_free '
	;;
*) die "PROFILE_MODE is embedded, msi, vntb-e2h or vntb-h2e, not '$mode'" ;;
esac
freq=${PROFILE_FREQ:-4999}
top=${PROFILE_TOP:-20}

command -v perf >/dev/null || die "bench-profile needs perf on the host"
mkdir -p "$logs"
rm -f "$logs"/profile.* "$logs"/perf.data

# perf runs the boot through in_root, in a shell of its own.
export BUILDROOT
export -f in_root
boot=$logs/profile.log
log "profiling: $what"
perf record -q -g -e cpu-clock -F "$freq" -o "$logs/perf.data" -- \
	bash -c 'in_root "$@"' in_root \
	/bin/bash "$PLATFORM_DIR/boot-kernel.sh" "$out/linux" "$out/initramfs.cpio.gz" "$boot" 600 \
	loglevel=5 $boot_args >"$logs/profile.boot" 2>&1 ||
	{ cat "$logs/profile.boot" >&2; die "the profile boot failed; see $boot"; }
# boot-kernel.sh boots again after a UML abort at power-off; perf then holds the
# samples of both boots, and the pairs of only the last one are counted.
! grep -q 'booting again' "$logs/profile.boot" ||
	die "UML aborted at power-off and was booted again: the profile counts two boots; run it again"
tap_of_scenario "$boot" >&2 || true
grep "$bench_re" "$boot" >"$logs/profile.ns" || die "no BENCH lines in $boot"
perf script -i "$logs/perf.data" --comm linux -F ip,sym 2>/dev/null >"$logs/profile.stacks" ||
	die "perf script failed"

python3 - "$logs" "$freq" "$top" "$pairs" "$mode" <<'PY' | tee "$logs/profile.table"
import collections, statistics, sys
logs, freq, top, per_run = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
vntb = sys.argv[5].startswith("vntb-")
if sys.argv[5] == "vntb-h2e":
    # the endpoint's doorbell interrupt handler
    entry = {"epf_ntb_doorbell_handler": "c",
             "kernel::irq::request::handle_irq_callback::<pci_epf_vntb_rs::DbHandler>": "rust"}
    unit, who = "doorbell", "function"
elif vntb:
    entry = {"vntb_epf_peer_db_set": "c", "vntb_epf_peer_db_work": "c",
             "<kernel::ntb::adapter::Adapter<pci_epf_vntb_rs::VntbNtb>>::peer_db_set": "rust",
             "<kernel::workqueue::BoundDelayedWork<kernel::pci::endpoint::poll::Wake>>::work_fn":
             "rust"}
    unit, who = "doorbell", "function"
else:
    entry = {"pci_epf_alloc_doorbell": "c", "pci_epf_free_doorbell": "c",
             "pci_epf_alloc_doorbell_rust": "rust", "pci_epf_free_doorbell_rust": "rust"}
    unit, who = "alloc+free pair", "allocator"
runs = collections.defaultdict(list)
for line in open(f"{logs}/profile.ns"):
    # BENCH <mode> <C|Rust> <round> alloc_free <ns per pair>, or
    # BENCH vntb-msi <C|Rust> <round> db_<way>_mean <us per doorbell>
    f = line.split()
    runs[f[2].lower()].append(float(f[5]) * (1000 if vntb else 1))
# Runs of per_run pairs, after one untimed run of 100 (the allocators).
pairs = {impl: len(v) * per_run + (0 if vntb else 100) for impl, v in runs.items()}
selfs = {"c": collections.Counter(), "rust": collections.Counter()}
groups = {"c": collections.Counter(), "rust": collections.Counter()}
other = 0
# Inclusive time of what both sides call, by a function on the stack; the
# first group that matches takes the sample.
GROUPS_VNTB = (
    ("raise_irq: the EPC, the MSI and the host's handler", {"pci_epc_raise_irq"}),
    ("queueing the work", {"__queue_work", "queue_work_on", "__queue_delayed_work",
                           "queue_delayed_work_on", "mod_delayed_work_on"}),
    ("mutexes", {"mutex_lock", "mutex_trylock", "mutex_unlock", "__mutex_lock_slowpath",
                 "__mutex_unlock_slowpath"}),
)
GROUPS_ALLOC = (
    ("printk: the log lines and their formatting",
     {"dev_vprintk_emit", "_dev_printk", "vprintk_emit", "_printk"}),
    ("platform-MSI domain lookup (none: fallback)", {"of_msi_map_get_device_domain"}),
    ("slab: kmalloc, krealloc, kfree",
     {"__kmalloc_noprof", "__kmalloc_node_track_caller_noprof", "krealloc_node_align_noprof",
      "kfree"}),
    ("EPC aux resources (count, get)",
     {"pci_epc_get_aux_resources", "pci_epc_get_aux_resources_count"}),
    ("DMA map/unmap of the doorbell register", {"dma_map_resource", "dma_unmap_resource"}),
)
GROUPS = GROUPS_VNTB if vntb else GROUPS_ALLOC
OWN = f"the {who}'s own code (the rest)"

def account(stack):
    global other
    if not stack:
        return
    owner = next((entry[f] for f in stack if f in entry), None)
    if not owner:
        other += 1
        return
    selfs[owner][stack[0]] += 1
    names = set(stack)
    groups[owner][next((g for g, fns in GROUPS if names & fns), OWN)] += 1

# perf script: one block per sample, a frame "ADDRESS SYMBOL" per line, leaf
# first, then a blank line.  Frames of the host kernel (a system call or page
# fault of the UML process) are left out: their time counts for the UML
# function that made them.
stack = []
for line in open(f"{logs}/profile.stacks"):
    f = line.split(None, 1)
    if not f:
        account(stack)
        stack = []
        continue
    if int(f[0], 16) < 1 << 63 and len(f) == 2:
        stack.append(f[1].strip())
account(stack)

ns = lambda impl, s: selfs[impl][s] / freq / pairs[impl] * 1e9
syms = set(selfs["c"]) | set(selfs["rust"])
def table(title, key):
    print(title)
    print(f"  {'function':<62} {'C':>8} {'Rust':>8} {'Rust-C':>8}")
    for s in sorted(syms, key=key)[:top]:
        c, r = ns("c", s), ns("rust", s)
        name = s if len(s) <= 62 else s[:59] + "..."
        print(f"  {name:<62} {c:>8.1f} {r:>8.1f} {r - c:>+8.1f}")

print(f"make bench-profile: ns per {unit} (perf cpu-clock samples at")
print(f"{freq:.0f} Hz, each counted for the {who} on its stack; {pairs.get('c', 0)} C and")
print(f"{pairs.get('rust', 0)} Rust, alternately in one boot)")
print("by what the time is spent in (inclusive):")
print(f"  {'':<62} {'C':>8} {'Rust':>8} {'Rust-C':>8}")
gns = lambda impl, g: groups[impl][g] / freq / pairs[impl] * 1e9
for g in [g for g, _ in GROUPS] + [OWN]:
    c, r = gns("c", g), gns("rust", g)
    print(f"  {g:<62} {c:>8.1f} {r:>8.1f} {r - c:>+8.1f}")
table("the most expensive functions, self time:", lambda s: -max(ns("c", s), ns("rust", s)))
table("the largest differences, self time:", lambda s: -abs(ns("rust", s) - ns("c", s)))
for impl, label in (("c", "C"), ("rust", "Rust")):
    total = sum(selfs[impl].values()) / freq / pairs[impl] * 1e9
    print(f"{label}: {total:.0f} ns per {unit} in samples under its entry points;"
          f" the benchmark's own clock: median {statistics.median(runs[impl]):.0f} ns per {unit}")
print(f"samples under neither {who} (boot, shell, the benchmark loop): {other}")
PY
