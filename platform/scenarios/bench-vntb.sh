# SPDX-License-Identifier: GPL-2.0
# `make bench`, vNTB section, inside the um-bench kernel (no checkers).  Not
# in the matrix: platform/run-bench.sh boots it once per doorbell mode.
#
# The vNTB functions of bench_vntb=COL:FUNCTION,... (columns C and Rust of
# platform/bench.conf's vntb lines) are bound to the loopback controller in
# turn, bench_rounds times (which goes first alternates from round to
# round), with the configuration of pci-vntb-howto.rst (vntb_start).  Per
# round:
#   floor        before the function is bound, the controller's doorbell
#                alone: the loopback's doorbell-floor hook rings a doorbell
#                of the mode's kind 200 times, host write to a handler that
#                only takes a timestamp (microseconds, median)
#   db_h2e, db_e2h   ntb_dblat (patch 0041) on both NTB devices: 200
#                doorbells host -> endpoint and endpoint -> host, from the
#                ringer's ntb_peer_db_set() to the receiver's ntb_db_event()
#                (median and p99, microseconds)
#   pingpong     ntb_pingpong on both devices, delay_ms=1: round trips per
#                second over 3 s
#   perf_h2e, perf_e2h, and _dma   ntb_perf, 16 MiB in 512 KiB chunks,
#                memcpy (and with use_dma=1 where a channel serves it), MB/s
#   ping_med, ping_p99   ntb_transport + ntb_netdev, endpoint interface in
#                its own namespace: 100 pings host -> endpoint, one as soon
#                as the last reply came (-A), RTT in microseconds
#   tcp_h2e, tcp_e2h   16 MiB over TCP each way (busybox nc), MB/s, the
#                SHA-256 checked at the receiver
# Each figure is one line BENCH vntb-<mode> <column> <round> <metric> <value>.
# The TAP lines only check that every step worked.
. /lib/eptest.sh

mode=${doorbell:-msi}
label=${bench_label:-$mode}
rounds=${bench_rounds:-5}
cols=$(echo "${bench_vntb:-C:pci_epf_vntb}" | tr ',' ' ')
dbl=/sys/kernel/debug/ntb_dblat
floor=$(ls -d /sys/kernel/debug/pci-loopback-ep/*/doorbell-floor 2>/dev/null | head -1)
echo "# bench-vntb: mode $label, columns $cols, $rounds rounds, doorbell_timer $(cat /sys/module/pci_loopback_ep/parameters/doorbell_timer 2>/dev/null)"
dmesg -n 1

out() { echo "BENCH vntb-$label $col $r $1 $2"; }
# ns_to_us NS: microseconds with one decimal
ns_to_us() { awk -v n="$1" 'BEGIN { printf "%.1f\n", n / 1000 }'; }
# field KEY LINE...: the value after KEY in "KEY value KEY value ..."
field() { _k=$1; shift; echo "$*" | awk -v k="$_k" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

# dblat FROM-DEV METRIC: 200 doorbells rung from FROM-DEV
dblat() {
	echo 200 >"$dbl/$1/ring" || return 1
	set -- "$2" $(cat "$dbl/$1/ring")
	out "$1" "$(ns_to_us "$(field median_ns "$@")")"
	out "${1}_p99" "$(ns_to_us "$(field p99_ns "$@")")"
}

# perf FROM-DEV METRIC: ntb_perf from FROM-DEV to its peer, MB/s (bytes
# over microseconds of the slowest thread, summed over threads)
perf() {
	P=/sys/kernel/debug/ntb_perf/$1
	i=0
	until echo 0 >"$P/run" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 50 ] || return 1; sleep 0.1
	done
	v=$(awk '/copied/ { b += $3; if ($6 > t) t = $6 } END { if (t > 0) printf "%.1f\n", b / t }' "$P/run")
	[ -n "$v" ] || return 1
	out "$2" "$v"
}

# measure COLUMN FUNCTION: every figure of one round for one function
measure() {
	col=$1 f=$2 failed_m=""
	if [ -n "$floor" ] && echo 200 >"$floor" 2>/dev/null; then
		out floor "$(ns_to_us "$(field median_ns $(cat "$floor"))")"
	elif [ "$mode" != none ]; then
		failed_m="$failed_m floor"
	fi
	vntb_start "$f" || { echo "# vntb_start $f failed"; return 1; }
	wait_ntb && ntb_names || { echo "# no NTB devices"; return 1; }

	link_y() { [ "$(cat $dbl/$ntb_host/link)" = Y ] && [ "$(cat $dbl/$ntb_ep/link)" = Y ]; }
	if ntb_bind ntb_dblat "$ntb_host" "$ntb_ep" && wait_until link_y; then
		dblat "$ntb_host" db_h2e || failed_m="$failed_m db_h2e"
		dblat "$ntb_ep" db_e2h || failed_m="$failed_m db_e2h"
	else
		failed_m="$failed_m dblat-bind"
	fi
	ntb_unbind "$ntb_host" "$ntb_ep"

	echo 1 >/sys/module/ntb_pingpong/parameters/delay_ms
	if ntb_bind ntb_pingpong "$ntb_host" "$ntb_ep"; then
		C=/sys/kernel/debug/ntb_pingpong/$ntb_host/count
		sleep 1
		c0=$(cat $C) t0=$(uptime_cs)
		sleep 3
		c1=$(cat $C) t1=$(uptime_cs)
		out pingpong "$(awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f\n", c * 100 / t }')"
	else
		failed_m="$failed_m pingpong-bind"
	fi
	ntb_unbind "$ntb_host" "$ntb_ep"

	echo 24 >/sys/module/ntb_perf/parameters/total_order
	echo 19 >/sys/module/ntb_perf/parameters/chunk_order
	echo N >/sys/module/ntb_perf/parameters/use_dma
	if ntb_bind ntb_perf "$ntb_host" "$ntb_ep"; then
		perf "$ntb_host" perf_h2e || failed_m="$failed_m perf_h2e"
		perf "$ntb_ep" perf_e2h || failed_m="$failed_m perf_e2h"
		echo Y >/sys/module/ntb_perf/parameters/use_dma
		# DMA only where a channel serves the window: no figure otherwise.
		perf "$ntb_host" perf_h2e_dma || echo "# ntb_perf DMA host -> endpoint: no result"
		perf "$ntb_ep" perf_e2h_dma || echo "# ntb_perf DMA endpoint -> host: no result"
		echo N >/sys/module/ntb_perf/parameters/use_dma
	else
		failed_m="$failed_m perf-bind"
	fi
	ntb_unbind "$ntb_host" "$ntb_ep"

	if netdev_up; then
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
	fi
	vntb_stop || { echo "# vntb_stop $f failed"; return 1; }
	[ -z "$failed_m" ] || { echo "# $f round $r:$failed_m"; return 1; }
}

failed=""
r=1
while [ $r -le "$rounds" ]; do
	if [ $((r % 2)) = 1 ]; then order=$cols; else order=$(echo $cols | tr ' ' '\n' | sed -n '1!G;h;$p'); fi
	for cf in $order; do
		measure "${cf%%:*}" "${cf#*:}" || failed="$failed ${cf%%:*}:$r"
	done
	r=$((r + 1))
done
dmesg -n 5
if [ -z "$failed" ]; then
	ok "vNTB ($mode): $rounds rounds of $cols measured"
else
	not_ok "vNTB ($mode): measurements failed:$failed" "$(dmesg | tail -30)"
fi
tap_end
