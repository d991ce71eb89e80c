# SPDX-License-Identifier: GPL-2.0
# Life cycle soak of a pci-epf-test compatible function on every loopback
# controller of the devicetree (platform/dts/fuzz.dts has four: MSI
# doorbells with and without DMA, embedded doorbells, an embedded doorbell
# exposed in BAR4), with the stock host driver pci_endpoint_test bound on
# the host side; the steps are the tool eplife's (platform/tools/eplife.c,
# which says what each cycle does).  Every batch runs:
#
#  bind      bind/unbind cycles, round robin over the controllers: link,
#            start, the host driver probes and gets the function's MSI;
#            then nothing, a doorbell enabled (and in some cycles rung) and
#            left enabled, a READ/WRITE/COPY in flight, or an
#            ENABLE_DOORBELL in flight; stop, unlink (after the host device
#            went, or at once), in some cycles rmdir.  Never an unlink from
#            a started controller (pci-ep-cfs WARNs on that).
#  doorbell  ENABLE/DISABLE_DOORBELL cycles on all controllers in parallel,
#            through the host driver (PCITEST_DOORBELL) and through the
#            bus exerciser, rung 0, 1 or 2 times: every command must
#            complete with its status and an interrupt, every ring be seen.
#  relink    on each controller in turn, link down/up (controller stop and
#            start, the host driver removed and probing again) while
#            commands run; the function must still work afterwards.
#
# then tears everything down and checks that nothing grew against the
# baseline taken after a warm-up batch (one of each kind of cycle on every
# controller, not counted):
#  - doorbell IRQ lines (pci-ep-test-doorbell) in /proc/interrupts, the
#    host driver's lines, all lines, and the interrupt descriptors
#    (/sys/kernel/irq): none may be more than at the baseline;
#  - slab: the bytes of active objects in /proc/slabinfo, after dropping
#    the dentry and inode caches and shrinking every cache (which also
#    empties KASAN's quarantine of freed objects, else counted as in use):
#    at most slab_tol KiB above the baseline.  Default 128: measured so,
#    the figure moves from batch to batch (-16 .. +7 KiB in the runs of
#    make test, -134 .. +31 KiB over the 10 batches of make soak: radix
#    tree nodes and shmem inodes that caches keep for reuse), the
#    tolerance is four times the largest growth seen; over the
#    soak's 1200 bind cycles it is crossed by anything above about 110
#    bytes kept per cycle (kmemleak's own record of each kept object
#    counts too).  The check is for what kmemleak cannot see, objects that
#    stay referenced (a requested IRQ keeps its action, its descriptor and
#    the handler's data);
#  - kmemleak: a scan must report nothing new (reported objects are
#    cleared after the report, so each batch counts its own).
#
# Kernel command line (environment of init):
#   epf=NAME       function driver (default pci_epf_test_rs)
#   ctls=N         use the first N controllers (default all)
#   binds=N        bind/unbind cycles in all, over all controllers
#                  (default 40)
#   doorbells=N    ENABLE/DISABLE_DOORBELL cycles in all (default 400),
#                  split over the controllers
#   relinks=N      link down/up cycles in all (default 8)
#   batches=N      the cycles are split into N batches, checks after each
#                  (default 2)
#   seed=S         eplife's seed (batch b, controller i: S + 16 b + i)
#   slab_tol=KIB   slab tolerance (default 128)
# A failing check names its cause in parentheses: (irq-grew), (slab-grew),
# (leak), (teardown), or eplife's causes, e.g. (enable-failed).
. /lib/eptest.sh

epf=${epf:-pci_epf_test_rs}
binds=${binds:-40}
doorbells=${doorbells:-400}
relinks=${relinks:-8}
batches=${batches:-2}
seed=${seed:-1}
slab_tol=${slab_tol:-128}
DBG=/sys/kernel/debug/pci-loopback-ep
KML=/sys/kernel/debug/kmemleak

ctl_list=$(ls "$CFS/controllers" | sort)
[ -n "${ctls:-}" ] && ctl_list=$(echo "$ctl_list" | head -n "$ctls")
nctl=$(echo $ctl_list | wc -w)
if [ "$nctl" = 0 ]; then
	not_ok "no loopback controller (setup)"; exit 1
fi
# The endpoint reaches only the exerciser's host buffer (the transfers
# eplife starts are in it; pci_endpoint_test's own are not used).
for epc in $ctl_list; do echo Y >"$DBG/$epc/host-dma-confine"; done
echo "# $epf on $nctl controller(s): $(echo $ctl_list)"

# share TOTAL BATCH: this batch's part of TOTAL (the last batch gets the rest)
share() {
	if [ "$2" -lt "$batches" ]; then echo $(($1 / batches))
	else echo $(($1 - ($1 / batches) * (batches - 1))); fi
}

# field LINE NAME: the number after NAME in an eplife summary line
field() { echo "$1" | sed -n "s/.* $2 \([0-9]*\).*/\1/p"; }

new_dev() { ls /dev | grep '^pci-endpoint-test\.' | grep -vxF -f /tmp/devs.0 | head -1; }
has_new_dev() { [ -n "$(new_dev)" ]; }

# up I CTL: function life<I> linked to CTL and started; sets dev_<I>
up() {
	fn=$CFS/functions/$epf/dbl$1
	ls /dev | grep '^pci-endpoint-test\.' >/tmp/devs.0
	echo none >>/tmp/devs.0
	epf_test_create "$fn" 4 && ln -s "$fn" "$CFS/controllers/$2/" &&
		echo 1 >"$CFS/controllers/$2/start" || return 1
	d=""
	wait_until has_new_dev && d=$(new_dev)
	[ -n "$d" ] || return 1
	eval "dev_$1=\$d"
}

# down I CTL: stopped, host device gone, unlinked, removed (what of it
# exists: also after a failed up)
down() {
	eval "d=\$dev_$1"
	fn=$CFS/functions/$epf/dbl$1
	[ -d "$fn" ] || return 0
	rc=0
	cfs_write 0 "$CFS/controllers/$2/start" || rc=1
	if [ -n "$d" ]; then wait_until test ! -e "/dev/$d" || rc=1; fi
	if [ -e "$CFS/controllers/$2/dbl$1" ]; then rm "$CFS/controllers/$2/dbl$1" || rc=1; fi
	rmdir "$fn" || rc=1
	return $rc
}

# The figures compared after each batch
db_lines() { grep -c 'pci-ep-test-doorbell' /proc/interrupts; }
host_lines() { grep -c 'pci-endpoint-test\.' /proc/interrupts; }
irq_lines() { grep -c '^ *[0-9]*:' /proc/interrupts; }
irq_descs() { ls /sys/kernel/irq 2>/dev/null | wc -l; }
# slab_kib: KiB of active slab objects, caches dropped and shrunk first
slab_kib() {
	echo 2 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do echo 1 >"$f"; done 2>/dev/null
	awk 'NR > 2 { s += $2 * $4 } END { printf "%d\n", s / 1024 }' /proc/slabinfo
}
meminfo_slab() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
# slab_top FILE.0 FILE.1: the caches that grew most between two slabinfo copies
slab_top() {
	awk 'FNR == NR { if (FNR > 2) b[$1] = $2 * $4; next }
	     FNR > 2 { d = $2 * $4 - b[$1]; if (d > 0) printf "%d %s\n", d, $1 }' "$1" "$2" |
		sort -rn | head -8 | awk '{ printf "%s%s +%d B", (NR > 1 ? ", " : ""), $2, $1 }'
}
# kml_new: the kmemleak report of a fresh scan (empty: nothing new), then
# cleared, so that the next batch reports only its own
kml_new() {
	[ -w "$KML" ] || return 0
	sleep 6		# kmemleak reports objects older than 5 s
	echo scan >"$KML"; echo scan >"$KML"
	cat "$KML"
	echo clear >"$KML"
}

tot_bind=0 tot_left=0 tot_xfer=0 tot_inen=0 tot_brung=0 tot_once=0 tot_rm=0
tot_db=0 tot_dbhost=0 tot_dbrung=0 tot_relink=0 tot_fail=0 leaks=0 round=0

# batch B BINDS DOORBELLS RELINKS: one batch; its TAP lines start with LABEL
batch() {
	b=$1 label=$5 s=$((seed + 16 * $1))
	# bind/unbind cycles, every controller in turn; the rounds (which
	# decide what a cycle does) go on from the last batch's
	t=$(date +%s)
	if [ "$2" -gt 0 ]; then
		eplife -s $s -r $round bind "$2" "$epf" $ctl_list >/tmp/bind.out; rc=$?
		round=$((round + ($2 + nctl - 1) / nctl))
		sum=$(grep '^eplife: ' /tmp/bind.out)
		f=$(field "$sum" failed)
		tot_bind=$((tot_bind + $(field "$sum" cycles)))
		tot_left=$((tot_left + $(field "$sum" doorbell-left)))
		tot_xfer=$((tot_xfer + $(field "$sum" inflight-xfer)))
		tot_inen=$((tot_inen + $(field "$sum" inflight-enable)))
		tot_brung=$((tot_brung + $(field "$sum" rung)))
		tot_once=$((tot_once + $(field "$sum" unlinked-at-once)))
		tot_rm=$((tot_rm + $(field "$sum" removed)))
		tot_fail=$((tot_fail + ${f:-1}))
		if [ $rc = 0 ]; then ok "$label: bind: ${sum#eplife: } ($(($(date +%s) - t)) s)"
		else
			causes=$(grep -o '([a-z-]*)$' /tmp/bind.out | sort -u | paste -sd' ' -)
			not_ok "$label: bind: failed cycles ${causes:-(exit $rc)}" \
				"${sum:-eplife exit $rc}" "$(grep '^# ' /tmp/bind.out | head -10)"
		fi
	fi
	# one function per controller for the doorbell and relink cycles
	i=0 bad=0
	for epc in $ctl_list; do
		eval "dev_$i="
		if ! up $i "$epc" || ! epreg -i "/dev/$(eval echo \$dev_$i)" 1; then
			not_ok "$label: bring-up of $epf on $epc for the doorbell cycles (setup)"
			bad=1
		fi
		i=$((i + 1))
	done
	[ $bad = 0 ] && cycles "$3" "$4" "$label"
	i=0 bad=0
	for epc in $ctl_list; do
		down $i "$epc" || bad=1
		i=$((i + 1))
	done
	if [ $bad = 0 ]; then ok "$label: torn down"
	else not_ok "$label: torn down: stop, host device gone, unlink, rmdir (teardown)"; fi
}

# cycles DOORBELLS RELINKS LABEL: the doorbell and relink cycles of a batch
cycles() {
	i=0 t=$(date +%s)
	for epc in $ctl_list; do
		n=$(($1 / nctl)); [ $i -lt $(($1 % nctl)) ] && n=$((n + 1))
		eplife -s $((s + i)) doorbell $n "$epc" "$(eval echo \$dev_$i)" >/tmp/db.$i &
		eval "pid_$i=\$!"
		i=$((i + 1))
	done
	i=0 dbf=0 dbsum=""
	for epc in $ctl_list; do
		eval "wait \$pid_$i"; rc=$?
		sum=$(grep '^eplife: ' /tmp/db.$i)
		f=$(field "$sum" failed)
		tot_db=$((tot_db + $(field "$sum" cycles)))
		tot_dbhost=$((tot_dbhost + $(field "$sum" host-driver)))
		tot_dbrung=$((tot_dbrung + $(field "$sum" rung)))
		tot_fail=$((tot_fail + ${f:-1}))
		dbsum="$dbsum${dbsum:+; }$epc $(field "$sum" cycles)/$(field "$sum" rung)"
		[ $rc = 0 ] || dbf=1
		i=$((i + 1))
	done
	if [ $dbf = 0 ]; then
		ok "$label: doorbell: cycles/rung per controller: $dbsum ($(($(date +%s) - t)) s)"
	else
		causes=$(cat /tmp/db.* | grep -o '([a-z-]*)$' | sort -u | paste -sd' ' -)
		not_ok "$label: doorbell: failed cycles ${causes:-(exit)}" \
			"$(cat /tmp/db.* | grep '^# \|^eplife: ' | head -12)"
	fi
	# link down/up while commands run, one controller at a time
	i=0 rlf=0 rl=0 t=$(date +%s)
	: >/tmp/rl.fail
	for epc in $ctl_list; do
		n=$(($2 / nctl)); [ $i -lt $(($2 % nctl)) ] && n=$((n + 1))
		if [ $n -gt 0 ]; then
			eplife -s $((s + i)) relink $n "$epc" "$(eval echo \$dev_$i)" >/tmp/rl.out; rc=$?
			sum=$(grep '^eplife: ' /tmp/rl.out)
			f=$(field "$sum" failed)
			rl=$((rl + $(field "$sum" cycles)))
			tot_fail=$((tot_fail + ${f:-1}))
			d=$(echo "$sum" | sed -n 's/.* dev //p')
			[ "$d" != none ] && eval "dev_$i=\$d"
			if [ $rc != 0 ]; then
				rlf=1
				cat /tmp/rl.out >>/tmp/rl.fail
			fi
		fi
		i=$((i + 1))
	done
	tot_relink=$((tot_relink + rl))
	if [ $rlf = 0 ]; then ok "$label: relink: $rl link down/up cycles while commands ran, function working after ($(($(date +%s) - t)) s)"
	else
		causes=$(grep -o '([a-z-]*)$' /tmp/rl.fail | sort -u | paste -sd' ' -)
		not_ok "$label: relink: $rl cycles ${causes:-(exit)}" "$(grep '^# ' /tmp/rl.fail | head -10)"
	fi
}

# measure: the figures now, in m_db m_host m_lines m_descs m_slab m_mslab
measure() {
	m_db=$(db_lines) m_host=$(host_lines) m_lines=$(irq_lines) m_descs=$(irq_descs)
	m_slab=$(slab_kib) m_mslab=$(meminfo_slab)
	cp /proc/slabinfo /tmp/slabinfo.now
}

[ -e "$(ls /sys/kernel/slab/*/shrink 2>/dev/null | head -1)" ] ||
	echo "# no /sys/kernel/slab/*/shrink: slab figures include KASAN's quarantine"
measure
echo "# at boot: doorbell IRQ lines $m_db, host driver lines $m_host, IRQ lines $m_lines, descriptors $m_descs, slab $m_slab KiB (meminfo Slab $m_mslab kB)"
t0=$(date +%s)
# Warm-up: every kind of bind cycle once per controller, a few doorbell
# cycles each, one relink each; then the baseline
batch 0 $((4 * nctl)) $((8 * nctl)) $nctl warm-up
r=$(kml_new)
if [ -n "$r" ]; then
	not_ok "warm-up: kmemleak reports unreferenced objects (leak)" "$r"
fi
tot_bind=0 tot_left=0 tot_xfer=0 tot_inen=0 tot_brung=0 tot_once=0 tot_rm=0
tot_db=0 tot_dbhost=0 tot_dbrung=0 tot_relink=0 tot_fail=0
measure
b_db=$m_db b_host=$m_host b_lines=$m_lines b_descs=$m_descs b_slab=$m_slab b_mslab=$m_mslab
cp /tmp/slabinfo.now /tmp/slabinfo.base
echo "# baseline: doorbell IRQ lines $b_db, host driver lines $b_host, IRQ lines $b_lines, descriptors $b_descs, slab $b_slab KiB (meminfo Slab $b_mslab kB)"

b=1
while [ $b -le "$batches" ]; do
	batch $b "$(share "$binds" $b)" "$(share "$doorbells" $b)" "$(share "$relinks" $b)" "batch $b"
	# kmemleak first: its 6 s wait also lets the RCU callbacks and exiting
	# tasks free what the batch released (task_struct, kmemleak's own
	# metadata) before the slab is measured
	r=$(kml_new)
	measure
	fig="doorbell IRQ lines $b_db -> $m_db, host driver lines $b_host -> $m_host, IRQ lines $b_lines -> $m_lines, descriptors $b_descs -> $m_descs"
	if [ "$m_db" -le "$b_db" ] && [ "$m_host" -le "$b_host" ] &&
		[ "$m_lines" -le "$b_lines" ] && [ "$m_descs" -le "$b_descs" ]; then
		ok "batch $b: interrupts: $fig"
	else
		not_ok "batch $b: interrupts grew: $fig (irq-grew)" \
			"$(grep 'pci-ep-test-doorbell\|pci-endpoint-test' /proc/interrupts)"
	fi
	fig="$b_slab -> $m_slab KiB (tolerance $slab_tol), meminfo Slab $b_mslab -> $m_mslab kB"
	if [ "$m_slab" -le $((b_slab + slab_tol)) ]; then
		ok "batch $b: slab: $fig"
	else
		not_ok "batch $b: slab grew: $fig (slab-grew)" \
			"grew most: $(slab_top /tmp/slabinfo.base /tmp/slabinfo.now)"
	fi
	if [ -z "$r" ]; then
		ok "batch $b: kmemleak: nothing new"
	else
		leaks=$((leaks + $(printf '%s\n' "$r" | grep -c 'unreferenced object')))
		not_ok "batch $b: kmemleak reports unreferenced objects (leak)" "$r"
	fi
	b=$((b + 1))
done
t1=$(date +%s)
echo "# growth: slab caches that grew most since the baseline: $(slab_top /tmp/slabinfo.base /tmp/slabinfo.now)"
echo "# lifecycle: $epf on $nctl controllers in $((t1 - t0)) s: bind cycles $tot_bind" \
	"(doorbell left enabled $tot_left, rung $tot_brung; transfer in flight $tot_xfer;" \
	"ENABLE_DOORBELL in flight $tot_inen; unlinked at once $tot_once; removed $tot_rm)," \
	"doorbell cycles $tot_db (host driver $tot_dbhost, rung $tot_dbrung)," \
	"relinks $tot_relink, failed $tot_fail, kmemleak $leaks," \
	"doorbell IRQ lines $b_db -> $m_db, IRQ descriptors $b_descs -> $m_descs," \
	"slab $b_slab -> $m_slab KiB (meminfo $b_mslab -> $m_mslab kB)"
tap_end
