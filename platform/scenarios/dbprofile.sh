# SPDX-License-Identifier: GPL-2.0
# `make bench-profile`, inside the um-bench kernel (no checkers); not in the
# matrix.  Keeps the doorbell allocators busy for a few seconds, C and Rust
# alternately, so that a sampling profiler on the host (platform/profile.sh
# runs perf on the UML process) sees where their alloc+free time goes under
# the same conditions.  Nothing is judged but that the runs work.
#
# Kernel command line: profile_runs (default 40: runs of 100000 alloc+free
# pairs per allocator), doorbell=msi|embedded (the devicetree's mode).
. /lib/eptest.sh

runs=${profile_runs:-40}
mode=${doorbell:-embedded}
run=/sys/kernel/debug/pci_epf_dbbench/run
fn=$CFS/functions/pci_epf_dbbench/profile
epc=$(ls "$CFS/controllers" | head -1)

tap_plan 2
if mkdir "$fn" && ln -s "$fn" "$CFS/controllers/$epc/"; then
	ok "configfs: pci_epf_dbbench bound to $epc"
else
	not_ok "configfs: pci_epf_dbbench bound to '$epc'"; exit 1
fi

# As in bench.sh: the console is not what is profiled.
dmesg -n 1
failed=""
i=0
while [ $i -lt "$runs" ]; do
	for impl in c rust; do
		if echo "$impl 100000" >$run; then
			set -- $(cat $run)
			[ "$4" = "$mode" ] || failed="$failed kind:$4"
			echo "DBPROFILE $impl $3"
		else
			failed="$failed run:$impl:$i"
		fi
	done
	i=$((i + 1))
done
dmesg -n 5
rm "$CFS/controllers/$epc/profile" && rmdir "$fn" || failed="$failed teardown"
if [ -z "$failed" ]; then
	ok "$runs x 100000 alloc+free pairs with each allocator ($mode doorbells)"
else
	not_ok "profile runs:$failed"
fi
tap_done
