# SPDX-License-Identifier: GPL-2.0
# `make bench`, vNTB section, inside the um-bench kernel (no checkers).  Not
# in the matrix: platform/run-bench.sh boots it once per doorbell mode.
#
# The vNTB functions of bench_vntb=COL:FUNCTION,... (columns C and Rust of
# platform/bench.conf's vntb lines) are linked once each, to a loopback
# controller each (the two-<mode>-imx8 devicetrees; C pci-epf-vntb cannot
# be linked a second time), with vntb_create's parameters and virtual
# buses 0x10, 0x11, ...  Each NTB client is loaded for one measurement
# (modprobe: it binds all four NTB devices) and the pair of the other
# column unbound from it.  bench_rounds rounds, the columns in turn (which
# goes first alternates from round to round).  Per round:
#   floor        right before the column's doorbell latencies, the
#                emulated doorbell alone: the loopback's doorbell-floor
#                hook rings a doorbell of the mode's kind 200 times, host
#                write to a handler that only takes a timestamp
#                (microseconds, median), on a controller that no function
#                holds (embedded: the devicetree's third controller; MSI:
#                a vector of its own in the MSI controller the functions
#                use).  Measured in the same round as the latencies, so
#                that both see the same speed of the UML process.
#                floor_mean: the mean; floor_restart: the median time from
#                the handler to the next write
#   db_h2e, db_e2h   ntb_dblat (patch 0041) on both NTB devices: 200
#                doorbells host -> endpoint and endpoint -> host, from the
#                ringer's ntb_peer_db_set() to the receiver's ntb_db_event()
#                (median and p99, microseconds); _mean: the mean (three
#                decimals); _restart: the median time from one event to
#                the next ring
#   pingpong     ntb_pingpong on both devices, delay_ms=1: round trips per
#                second over 3 s
#   perf_h2e, perf_e2h, perf_e2h_dma   ntb_perf, 16 MiB in 512 KiB
#                chunks, memcpy, and from the endpoint with use_dma=1 (the
#                DMA channels are the endpoint's), MB/s
#   ping_med, ping_p99   ntb_transport + ntb_netdev, endpoint interface in
#                its own namespace: 100 pings host -> endpoint, one as soon
#                as the last reply came (-A), RTT in microseconds
#   tcp_h2e, tcp_e2h   16 MiB over TCP each way (busybox nc), MB/s, the
#                SHA-256 checked at the receiver
# Each figure is one line BENCH vntb-<mode> <column> <round> <metric> <value>.
# bench_vntb_parts (default "floor dblat pingpong perf netdev") names the
# parts measured (e2h, h2e: ntb_dblat one way only); bench_dblat_rings
# (default 200) the doorbells per ntb_dblat run (make bench-profile
# PROFILE_MODE=vntb-e2h, vntb-h2e: one way, 100000 rings).
# The TAP lines only check that every step worked.
. /lib/eptest.sh
. /lib/vntb.sh

mode=${doorbell:-msi}
label=${bench_label:-$mode}
rounds=${bench_rounds:-5}
cols=$(echo "${bench_vntb:-C:pci_epf_vntb}" | tr ',' ' ')
parts=" $(echo "${bench_vntb_parts:-floor dblat pingpong perf netdev}" | tr ',' ' ') "
rings=${bench_dblat_rings:-200}
dbl=/sys/kernel/debug/ntb_dblat
echo "# bench-vntb: mode $label, columns $cols, $rounds rounds, doorbell_timer $(cat /sys/module/pci_loopback_ep/parameters/doorbell_timer 2>/dev/null)"
dmesg -n 1

out() { echo "BENCH vntb-$label $col $r $1 $2"; }
# ns_to_us NS: microseconds with one decimal
ns_to_us() { awk -v n="$1" 'BEGIN { printf "%.1f\n", n / 1000 }'; }
# ns_to_us3 NS: microseconds with three decimals (a mean of 200 rings
# resolves less than one 256 ns step of UML's clock)
ns_to_us3() { awk -v n="$1" 'BEGIN { printf "%.3f\n", n / 1000 }'; }
# field KEY LINE...: the value after KEY in "KEY value KEY value ..."
field() { _k=$1; shift; echo "$*" | awk -v k="$_k" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

# part NAME: whether this boot measures part NAME (bench_vntb_parts)
part() { case "$parts" in *" $1 "*) ;; *) return 1 ;; esac; }

# dblat FROM-DEV METRIC: $rings doorbells rung from FROM-DEV
dblat() {
	echo "$rings" >"$dbl/$1/ring" || return 1
	set -- "$2" $(cat "$dbl/$1/ring")
	out "$1" "$(ns_to_us "$(field median_ns "$@")")"
	out "${1}_p99" "$(ns_to_us "$(field p99_ns "$@")")"
	out "${1}_mean" "$(ns_to_us3 "$(field mean_ns "$@")")"
	out "${1}_restart" "$(ns_to_us "$(field restart_median_ns "$@")")"
}

# perf FROM-DEV METRIC: ntb_perf from FROM-DEV to its peer, MB/s (bytes
# over microseconds of the slowest thread, summed over threads); no figure
# if the loopback logged a failed DMA transfer meanwhile (dma_failures)
perf() {
	P=/sys/kernel/debug/ntb_perf/$1
	f0=$(dma_failures)
	i=0
	until echo 0 >"$P/run" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 50 ] || return 1; sleep 0.1
	done
	v=$(awk '/copied/ { b += $3; if ($6 > t) t = $6 } END { if (t > 0) printf "%.1f\n", b / t }' "$P/run")
	[ -n "$v" ] && [ "$(dma_failures)" = "$f0" ] || return 1
	out "$2" "$v"
}

# client MODULE ARGS...: load an NTB client (it binds every NTB device), then
# unbind it from the other column's pair (NTB_OTHERS), so that it has the
# pair NTB_HOST/NTB_EP only.
client() {
	modprobe "$@" || return 1
	_c=$1
	_mine() { [ "$(ntb_driver "$NTB_HOST")" = "$_c" ] && [ "$(ntb_driver "$NTB_EP")" = "$_c" ]; }
	wait_until _mine || return 1
	ntb_unbind $NTB_OTHERS
}

# use COLUMN: NTB_HOST, NTB_EP (the column's pair) and NTB_OTHERS (every
# other NTB device)
use() {
	eval "NTB_HOST=\$host_$1 NTB_EP=\$ep_$1"
	NTB_OTHERS=$(ntb_list | grep -v -x -e "$NTB_HOST" -e "$NTB_EP" | tr '\n' ' ')
}

# measure COLUMN: every figure of one round for one column
measure() {
	col=$1 failed_m=""
	use "$col"

	if [ "$mode" != none ] && part floor; then
		if [ -n "$floor" ] && echo 200 >"$floor" 2>/dev/null; then
			set -- $(cat "$floor")
			out floor "$(ns_to_us "$(field median_ns "$@")")"
			out floor_mean "$(ns_to_us3 "$(field mean_ns "$@")")"
			out floor_restart "$(ns_to_us "$(field restart_median_ns "$@")")"
		else
			failed_m="$failed_m floor"
		fi
	fi
	link_y() { [ "$(cat $dbl/$NTB_HOST/link)" = Y ] && [ "$(cat $dbl/$NTB_EP/link)" = Y ]; }
	if ! part dblat && ! part e2h && ! part h2e; then
		:
	elif client ntb_dblat && wait_until link_y; then
		if part dblat || part h2e; then
			dblat "$NTB_HOST" db_h2e || failed_m="$failed_m db_h2e"
		fi
		if part dblat || part e2h; then
			dblat "$NTB_EP" db_e2h || failed_m="$failed_m db_e2h"
		fi
		modprobe -r ntb_dblat
	else
		failed_m="$failed_m dblat-bind"
		modprobe -r ntb_dblat
	fi

	if ! part pingpong; then
		:
	elif client ntb_pingpong delay_ms=1; then
		C=/sys/kernel/debug/ntb_pingpong/$NTB_HOST/count
		sleep 1
		c0=$(cat $C) t0=$(uptime_cs)
		sleep 3
		c1=$(cat $C) t1=$(uptime_cs)
		out pingpong "$(awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f\n", c * 100 / t }')"
	else
		failed_m="$failed_m pingpong-bind"
	fi
	part pingpong && modprobe -r ntb_pingpong

	if ! part perf; then
		:
	elif client ntb_perf total_order=24 chunk_order=19 use_dma=N; then
		perf "$NTB_HOST" perf_h2e || failed_m="$failed_m perf_h2e"
		perf "$NTB_EP" perf_e2h || failed_m="$failed_m perf_e2h"
		# DMA from the endpoint only: the DMA channels are the endpoint
		# controller's (the loopback's), and the host has none of its own.
		# ntb_perf on the host would take the endpoint's channel, which
		# cannot reach a host BAR, and time its failed transfers.  A run
		# with a failed transfer (the loopback logs each) gives no figure.
		echo Y >/sys/module/ntb_perf/parameters/use_dma
		perf "$NTB_EP" perf_e2h_dma ||
			echo "# ntb_perf DMA endpoint -> host: no result: $(dmesg | grep 'DMA .* failed' | tail -1)"
		echo N >/sys/module/ntb_perf/parameters/use_dma
	else
		failed_m="$failed_m perf-bind"
	fi
	part perf && modprobe -r ntb_perf

	if ! part netdev; then
		:
	elif netdev_up; then
		ping -c 3 -W 5 $NET_EP >/dev/null
		ping -A -c 100 -W 5 $NET_EP | sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | sort -n >/tmp/rtt
		n=$(wc -l </tmp/rtt)
		if [ "$n" = 100 ]; then
			out ping_med "$(awk 'NR == 50 { printf "%.1f\n", $1 * 1000 }' /tmp/rtt)"
			out ping_p99 "$(awk 'NR == 99 { printf "%.1f\n", $1 * 1000 }' /tmp/rtt)"
		else
			failed_m="$failed_m ping($n/100)"
		fi
		head -c 16777216 /dev/urandom >/tmp/data
		want=$(sha256sum </tmp/data | cut -d' ' -f1)
		for from in host ep; do
			[ $from = host ] && m=tcp_h2e || m=tcp_e2h
			set -- $(tcp_send $from /tmp/data)
			if [ "${1:-}" = "$want" ] && [ "${2:-0}" -gt 0 ]; then
				out $m "$(awk -v cs="$2" 'BEGIN { printf "%.1f\n", 16777216 / cs / 10000 }')"
			else
				failed_m="$failed_m $m"
			fi
		done
		rm -f /tmp/data
		netdev_down || failed_m="$failed_m netdev-down"
	else
		failed_m="$failed_m netdev-up"
		modprobe -r ntb_netdev; modprobe -r ntb_transport
	fi
	[ -z "$failed_m" ] || { echo "# $col round $r:$failed_m"; return 1; }
}

failed=""
# Each column's function on a controller of its own, linked for the boot.
set -- $(ls "$CFS/controllers")
i=0 used=""
for cf in $cols; do
	col=${cf%%:*} f=${cf#*:}
	VBUS=$((0x10 + i))
	if [ -n "${1:-}" ] && vntb_create "$f" "func$((i + 1))" && vntb_start "$FN" "$1"; then
		eval "host_$col=$NTB_HOST ep_$col=$NTB_EP fn_$col=$FN epc_$col=$1 pci_$col=$HOST_PCI"
		used="$used $1"
	else
		not_ok "vNTB ($mode): $f linked to controller '${1:-none}'" "$(dmesg | tail -30)"; exit 1
	fi
	shift
	i=$((i + 1))
done
unset VBUS

# The floor's doorbell: on a controller no column's function is linked to.
# With MSI doorbells, whose floor takes a vector of its own, any controller
# will do.
floor=""
for d in /sys/kernel/debug/pci-loopback-ep/*/doorbell-floor; do
	[ -e "$d" ] || continue
	c=$(basename "$(dirname "$d")")
	case "$used " in
	*" $c "*) [ "$mode" = msi ] && [ -z "$floor" ] && floor=$d ;;
	*) floor=$d; break ;;
	esac
done
echo "# bench-vntb: doorbell floor of ${floor:-no controller}"

r=1
while [ $r -le "$rounds" ]; do
	if [ $((r % 2)) = 1 ]; then order=$cols; else order=$(echo $cols | tr ' ' '\n' | sed -n '1!G;h;$p'); fi
	for cf in $order; do
		measure "${cf%%:*}" || failed="$failed ${cf%%:*}:$r"
	done
	r=$((r + 1))
done
for cf in $cols; do
	col=${cf%%:*}
	eval "vntb_stop \$fn_$col \$epc_$col \$pci_$col" || failed="$failed stop:$col"
done
dmesg -n 5
if [ -z "$failed" ]; then
	ok "vNTB ($mode): $rounds rounds of $cols measured"
else
	not_ok "vNTB ($mode): measurements failed:$failed" "$(dmesg | tail -30)"
fi
tap_end
