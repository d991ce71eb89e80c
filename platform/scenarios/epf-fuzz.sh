# SPDX-License-Identifier: GPL-2.0
# Hostile hosts at volume: the seeded register fuzzer epfuzz against a
# pci-epf-test compatible function on every loopback controller of the
# devicetree (platform/dts/fuzz.dts has four), one fuzzer per controller,
# in parallel, with pci_endpoint_test bound on the host side (4 MSI
# vectors per function: virt-pci has 32 for the whole bus).  The
# exerciser's DMA confinement is on (the fuzzer turns it on): the endpoint
# reaches only the exerciser's host buffer, whatever address it is told.
#
# Contract, for every command: it completes (IRQ_RAISED and an interrupt,
# within tmo ms), its STATUS has no success bit of another command, the
# guard zones of the host buffer are intact and successful writes into it
# carry the right data; no crash, hang or leak (the runner fails the boot on
# any checker report; kmemleak is scanned after the teardown); and the
# console (loglevel=5: warnings and worse) gets a bounded number of lines
# from the function: at most 11 per 5 s interval and function (the default
# ratelimit burst, 10, plus its "callbacks suppressed" line), whatever the
# host does.  Not counted: the doorbell allocator's warning "Can't find MSI
# domain for EPC" of every embedded doorbell allocation (not rate-limited,
# the same line as C's allocator; make bench compares the two).
#
# Kernel command line (environment of init):
#   epf=NAME       function driver (default pci_epf_test_rs)
#   ctls=N         use the first N controllers (default all)
#   seed=S         seed of the first controller's fuzzer; controller i uses
#                  S + i (default 1).  Replay one: the same seed, ctls and
#                  commands; epfuzz -v prints every step
#   commands=N     commands per controller (default 300)
#   tmo=MS         completion bound per command (default 2000)
#   verbose=1      epfuzz -v: every step on the console.  To replay a
#                  failing seed alone, e.g. seed 3 of C: a matrix line with
#                  epf=pci_epf_test ctls=1 seed=3 commands=... verbose=1
# A failing check names its cause in parentheses, e.g. "(never-completed)".
. /lib/eptest.sh

epf=${epf:-pci_epf_test_rs}
seed=${seed:-1}
commands=${commands:-300}
tmo=${tmo:-2000}
DBG=/sys/kernel/debug/pci-loopback-ep

ctl_list=$(ls "$CFS/controllers" | sort)
[ -n "${ctls:-}" ] && ctl_list=$(echo "$ctl_list" | head -n "$ctls")
n=0 devs="" dirs=""
for epc in $ctl_list; do
	fn=$CFS/functions/$epf/fuzz$n
	ls /dev | grep '^pci-endpoint-test\.' >/tmp/devs.0
	echo none >>/tmp/devs.0
	if ! epf_test_create "$fn" 4 || ! ln -s "$fn" "$CFS/controllers/$epc/" ||
		! echo 1 >"$CFS/controllers/$epc/start"; then
		not_ok "bring-up: $epf on $epc (setup)"; exit 1
	fi
	i=0
	dev=""
	while [ -z "$dev" ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
		dev=$(ls /dev | grep '^pci-endpoint-test\.' | grep -vxF -f /tmp/devs.0 | head -1)
	done
	if [ -z "$dev" ] || [ ! -d "$DBG/$epc" ] || ! epreg -i "/dev/$dev" 1; then
		not_ok "bring-up: host driver on $epc with MSI (setup)" \
			"device '${dev}', $(ls -d "$DBG"/* | paste -sd' ' -)"
		exit 1
	fi
	devs="$devs $dev" dirs="$dirs $DBG/$epc"
	n=$((n + 1))
done
if [ $n = 0 ]; then
	not_ok "no loopback controller (setup)"; exit 1
fi
ok "bring-up: $epf on $n controller(s), host driver with MSI: $devs"

epfuzz -k >/tmp/kmsg.out &
kpid=$!
sleep 0.2	# the counter has opened /dev/kmsg
t0=$(date +%s)
i=0
for d in $dirs; do
	dev=$(echo $devs | cut -d' ' -f$((i + 1)))
	# -v: every step on the console (stderr), as it happens
	epfuzz ${verbose:+-v} -s $((seed + i)) -n "$commands" -t "$tmo" -m 4 "$d" "$dev" >/tmp/fuzz.$i &
	eval "fpid$i=\$!"
	i=$((i + 1))
done
tot_c=0 tot_ok=0 tot_f=0 tot_t=0
i=0
for d in $dirs; do
	eval "wait \$fpid$i"; rc=$?
	grep '^# ' /tmp/fuzz.$i | head -20
	sum=$(grep '^epfuzz: ' /tmp/fuzz.$i)
	set -- $sum
	# epfuzz: seed S commands N completed C failed-with-status F timed-out T ...
	c=${5:-0} okc=${7:-0} f=${9:-0} t=${11:-0}
	tot_c=$((tot_c + c)) tot_ok=$((tot_ok + okc)) tot_f=$((tot_f + f)) tot_t=$((tot_t + t))
	d1=$(basename "$d")
	if [ "$rc" = 0 ] && [ "$c" = "$commands" ] && [ "$okc" = "$c" ]; then
		ok "fuzz $d1 seed $((seed + i)): ${sum#epfuzz: }"
	else
		causes=$(grep -o '([a-z-]*)$' /tmp/fuzz.$i | sort -u | paste -sd' ' -)
		not_ok "fuzz $d1 seed $((seed + i)): not every command completed cleanly ${causes:-(never-completed)}" \
			"${sum:-epfuzz exit $rc}" "$(tail -3 /tmp/fuzz.$i)"
	fi
	i=$((i + 1))
done
t1=$(date +%s)
kill -TERM $kpid; wait $kpid
cat /tmp/kmsg.out
set -- $(grep '^kmsg: ' /tmp/kmsg.out)
epf_lines=${7:-0} alloc_lines=${9:-0}
# ratelimit: 10 messages + 1 "callbacks suppressed" line per 5 s interval
bound=$((n * 11 * ((t1 - t0) / 5 + 2)))
if [ "$epf_lines" -le $bound ]; then
	ok "console: $epf_lines warning-or-worse lines from the function(s) in $((t1 - t0)) s (bound $bound; not counted: $alloc_lines of the doorbell allocator)"
else
	not_ok "console: $epf_lines warning-or-worse lines from the function(s) in $((t1 - t0)) s, bound $bound (log-flood)"
fi
echo "# totals: commands $tot_c completed $tot_ok failed-with-status $tot_f timed-out $tot_t"

# Teardown, then the leak check
i=0 bad=0
for epc in $ctl_list; do
	cfs_write 0 "$CFS/controllers/$epc/start" || bad=1
	rm "$CFS/controllers/$epc/fuzz$i" && rmdir "$CFS/functions/$epf/fuzz$i" || bad=1
	i=$((i + 1))
done
no_host_dev() { ! ls /dev | grep -q '^pci-endpoint-test\.'; }
if [ $bad = 0 ] && wait_until no_host_dev; then
	ok "torn down: links stopped, functions unbound and removed"
else
	not_ok "torn down: links stopped, functions unbound and removed (teardown)"
fi
if eptest_kmemleak; then
	ok "leaks: kmemleak reports none"
else
	not_ok "leaks: kmemleak reports unreferenced objects (leak)"
fi
tap_end
