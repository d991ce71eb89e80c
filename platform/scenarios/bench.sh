# SPDX-License-Identifier: GPL-2.0
# `make bench`, inside the um-bench kernel (no checkers).  Not in the matrix:
# platform/run-bench.sh boots it once per doorbell mode.
#
# Two pci-epf-test compatible functions, bench_a=NAME and bench_b=NAME on the
# kernel command line (columns A and B), are bound alternately to the loopback
# controller with the same configfs parameters and measured from the RC side
# with epbench (platform/tools/epbench.c); then the doorbell allocator
# benchmark function pci_epf_dbbench times alloc+free of one doorbell with the
# C and the Rust implementation.  Each measurement is one line
#   BENCH <mode> <A|B|C|Rust> <round> <metric> <value>
# which the host side turns into medians.  Nothing here judges a timing; the
# TAP lines only check that every step worked.
#
# Kernel command line: bench_a, bench_b, bench_rounds (default 5),
# bench_dbn (alloc+free pairs per allocator run, 5000), bench_dbrounds (51),
# bench_parts (default "rc alloc": the functions from the RC side, the
# allocators; `make bench-profile` runs only "alloc"),
# doorbell=msi|embedded (the mode of the devicetree, checked).
. /lib/eptest.sh

a=${bench_a:-pci_epf_test}
b=${bench_b:-pci_epf_test}
rounds=${bench_rounds:-5}
mode=${doorbell:-msi}
dbn=${bench_dbn:-5000}
dbrounds=${bench_dbrounds:-51}
dev=/dev/pci-endpoint-test.0
epc=$(ls "$CFS/controllers" | head -1)
dbb=/sys/kernel/debug/pci_epf_dbbench/run
parts=" ${bench_parts:-rc alloc} "
has_part() { case $parts in *" $1 "*) return 0 ;; esac; return 1; }

echo "# bench: mode $mode, A = $a, B = $b, $rounds rounds, controller $epc"

for f in "$a" "$b" pci_epf_dbbench; do
	[ -d "$CFS/functions/$f" ] || { not_ok "function $f is registered"; exit 1; }
done
ok "functions $a, $b and pci_epf_dbbench are registered"

if has_part rc; then
# make_fn COLUMN FUNCTION: the function instance of a column, same parameters
# for both columns.
make_fn() {
	fn=$CFS/functions/$2/bench$1
	mkdir "$fn" && cfs_write 0x104c "$fn/vendorid" && cfs_write 0xb500 "$fn/deviceid" &&
		cfs_write 32 "$fn/msi_interrupts" "$fn/msix_interrupts"
}
if make_fn A "$a" && make_fn B "$b"; then
	ok "configfs: benchA ($a) and benchB ($b) created and configured"
else
	not_ok "configfs: function instances created and configured"; exit 1
fi

wait_dev() { # present|absent: the host device follows the link within 5 s
	i=0
	while [ $i -lt 50 ]; do
		if [ "$1" = present ]; then [ -e $dev ] && return 0
		else [ -e $dev ] || return 0; fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

bind() { # FUNCTION-DIR
	ln -s "$1" "$CFS/controllers/$epc/" && cfs_write 1 "$CFS/controllers/$epc/start" &&
		wait_dev present
}
unbind() { # FUNCTION-DIR
	cfs_write 0 "$CFS/controllers/$epc/start" && wait_dev absent &&
		rm "$CFS/controllers/$epc/$(basename "$1")"
}

# ep_rate: the rate of the transfers the function logged since the last
# "dmesg -c" (lines "... => Size: N B, DMA: ..., Time: S.NNNNNNNNN s, ..."),
# in MB/s: the bytes of the faster half of them over the sum of their logged
# times; nothing if it logged none.  The faster half, because a transfer
# during which the host preempted UML takes many times as long; summed times,
# not the median of the logged rates, because the EP clock of UML ticks in
# 256 ns steps and a 4 KiB transfer takes only a few ticks: a median of such
# rates jumps by a whole tick (10 % and more) between rounds, a sum averages
# the rounding out.
ep_rate() {
	dmesg | sed -n 's/.* => Size: \([0-9]*\) B, .* Time: \([0-9]*\)\.\([0-9]*\) s.*/\1 \2 \3/p' |
		awk '{ print $2 * 1000000000 + $3, $1 }' | sort -n >/tmp/rates
	n=$(wc -l </tmp/rates)
	[ "$n" -gt 0 ] || return 0
	head -n $(( (n + 1) / 2 )) /tmp/rates |
		awk '{ ns += $1; b += $2 } END { if (ns > 0) printf "%.3f\n", b * 1000 / ns }'
}

# measure MODE COLUMN ROUND: every RC-side metric once, and the function's
# own rate line for the transfers.
measure() {
	v=$(epbench doorbell 40) || return 1
	echo "BENCH $1 $2 $3 doorbell ${v%% *}"
	for op in read write copy; do
		for size in 4k 64k 1m; do
			for dma in "" dma; do
				m=${op}_$size${dma:+_dma}
				dmesg -c >/dev/null
				v=$(epbench $op $size 20 $dma) || return 1
				echo "BENCH $1 $2 $3 $m ${v%% *}"
				v=$(ep_rate)
				[ -z "$v" ] || echo "BENCH $1 $2 $3 ${m}_ep $v"
			done
		done
	done
}

failed=""
r=1
while [ $r -le "$rounds" ]; do
	# Alternate which column goes first.
	if [ $((r % 2)) = 1 ]; then order="A B"; else order="B A"; fi
	for col in $order; do
		[ $col = A ] && f=$a || f=$b
		fn=$CFS/functions/$f/bench$col
		if ! bind "$fn"; then failed="$failed bind:$col:$r"; break 2; fi
		measure "$mode" $col $r || failed="$failed measure:$col:$r"
		if ! unbind "$fn"; then failed="$failed unbind:$col:$r"; break 2; fi
	done
	r=$((r + 1))
done
if [ -z "$failed" ]; then
	ok "RC side: $rounds rounds of A and B measured"
else
	not_ok "RC side: measurements failed:$failed" "$(dmesg | tail -20)"
fi

if rmdir "$CFS/functions/$a/benchA" "$CFS/functions/$b/benchB"; then
	ok "torn down"
else
	not_ok "torn down"
fi
fi # rc

# Doorbell allocator: C vs Rust implementation on the same function.  Both
# log the same lines on every embedded allocation ("Can't find MSI domain",
# "Using embedded (DMA) doorbell fallback"); the console is silenced while
# they run, so that what is timed is the allocator and the log buffer, not
# the host's writes of UML's console.
if has_part alloc; then
fn=$CFS/functions/pci_epf_dbbench/dbbench
failed=""
if mkdir "$fn" && ln -s "$fn" "$CFS/controllers/$epc/"; then
	dmesg -n 1
	# One untimed run of each first.
	for impl in c rust; do echo "$impl 100" >$dbb || failed="$failed warmup:$impl"; done
	# Many short rounds, C and Rust back to back: the speed of the UML
	# process changes over seconds (the host), and the median of many
	# adjacent pairs is what stays put from one boot to the next.
	r=1
	while [ $r -le "$dbrounds" ]; do
		if [ $((r % 2)) = 1 ]; then order="c rust"; else order="rust c"; fi
		for impl in $order; do
			if echo "$impl $dbn" >$dbb; then
				set -- $(cat $dbb)
				[ "$4" = "$mode" ] || failed="$failed kind:$impl:$4"
				[ $impl = c ] && col=C || col=Rust
				echo "BENCH $mode $col $r alloc_free $3"
			else
				failed="$failed run:$impl:$r"
			fi
		done
		r=$((r + 1))
	done
	dmesg -n 5
	rm "$CFS/controllers/$epc/dbbench" && rmdir "$fn" || failed="$failed teardown"
else
	failed="bind"
fi
if [ -z "$failed" ]; then
	ok "doorbell allocator: $dbrounds rounds of C and Rust ($mode doorbells)"
else
	not_ok "doorbell allocator:$failed" "$(dmesg | tail -20)"
fi
fi # alloc
tap_end
