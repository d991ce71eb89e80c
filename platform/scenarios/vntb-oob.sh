# SPDX-License-Identifier: GPL-2.0
# Out-of-range indexes from an endpoint-side NTB client: the test client
# ntb_oob_test (drivers/ntb/test/ntb_oob_test.c) calls the scratchpad and
# memory window operations of the endpoint's NTB device with the index one
# past each count (and -1), and each call must fail (a negative return) or,
# for reads, which return a value and not an error, give 0; none may touch
# another scratchpad.  mw_set_trans, which a driver without the check may
# not survive, comes last.
#   epf=NAME   function driver (default pci_epf_vntb)
# C pci-epf-vntb (S-V5): no index is checked: the writes return 0, a peer
# scratchpad write past the count lands in the endpoint's own scratchpad 0,
# and mw_set_trans(num_mws) indexes epf->bar[-1] (UBSAN).
. /lib/eptest.sh
. /lib/vntb.sh

vntb_setup
modprobe ntb_oob_test || { not_ok "modprobe ntb_oob_test"; exit 1; }
O=/sys/kernel/debug/ntb_oob_test/$NTB_EP
wait_until test -r "$O/run"
r=$(cat "$O/run") || { not_ok "read $O/run"; exit 1; }
printf '%s\n' "$r" | sed 's/^/# ntb_oob_test: /'
printf '%s\n' "$r" | grep -q '^done$' && ok "ntb_oob_test ran on the endpoint's $NTB_EP" ||
	not_ok "ntb_oob_test ran on the endpoint's $NTB_EP"

# field OP IDX: the ret= value of operation OP with index IDX.
field() { printf '%s\n' "$r" | sed -n "s/^$1 idx=$2 ret=\([^ ]*\).*/\1/p" | head -1; }
neg() { v=$(field "$1" "$2"); [ -n "$v" ] && [ "$v" -lt 0 ]; }
zero() { v=$(field "$1" "$2"); [ -n "$v" ] && [ $((v)) = 0 ]; }
spads=$(printf '%s\n' "$r" | sed -n 's/^spad_count //p')
mws=$(printf '%s\n' "$r" | sed -n 's/^mw_count \([0-9-]*\) .*/\1/p')
pmws=$(printf '%s\n' "$r" | sed -n 's/^mw_count [0-9-]* peer_mw_count //p')
for op in spad_write peer_spad_write; do
	neg $op "$spads" && ok "$op($spads) fails ($v)" ||
		not_ok "$op($spads) returned '$v', not an error (accepted)"
done
for op in spad_read peer_spad_read; do
	for i in "$spads" -1; do
		zero $op "$i" && ok "$op($i) gives 0" ||
			not_ok "$op($i) gave '$v', not 0 (read-other)"
	done
done
for s in spad0 peer_spad0; do
	l=$(printf '%s\n' "$r" | grep "^$s ")
	set -- $l
	[ -n "$l" ] && [ "$2" = "$4" ] && ok "$s unchanged by the out-of-range writes ($2)" ||
		not_ok "$s is $2 after the out-of-range writes, was $4 (aliased)"
done
neg peer_mw_get_addr "$pmws" && ok "peer_mw_get_addr($pmws) fails ($v)" ||
	not_ok "peer_mw_get_addr($pmws) returned '$v', not an error (accepted)"
for op in mw_get_align mw_clear_trans; do
	neg $op "$mws" && ok "$op($mws) fails ($v)" ||
		not_ok "$op($mws) returned '$v', not an error (accepted)"
done
r=$(cat "$O/mw_set_trans")
echo "# ntb_oob_test: $r"
neg mw_set_trans "$mws" && ok "mw_set_trans($mws) fails ($v)" ||
	not_ok "mw_set_trans($mws) returned '$v', not an error (accepted)"
modprobe -r ntb_oob_test
tap_end
