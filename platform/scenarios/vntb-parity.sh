# SPDX-License-Identifier: GPL-2.0
# Several vNTB functions at once, one per loopback controller (two-msi-imx8
# devicetree), each paired with ntb_hw_epf on its own host device; then the
# vNTB test suite (vntb_suite in /lib/vntb.sh) on each pair in turn, and the
# per-check results compared: any check that passes for one function and
# fails for another fails the comparison, unless a known list names it.
#   epfs=A,B      the function drivers, in controller order (default two C
#                 pci_epf_vntb, which tests that two instances can coexist;
#                 pci_epf_vntb,pci_epf_vntb_rs is the C/Rust parity)
#   checks=A,B    the checks of vntb_suite (default: all)
#   known1=, known2=  checks known to fail for the first, second function
#                 (as known= of vntb-suite); they are left out of the
#                 comparison
#   unpaired=A,B  more checks left out of the comparison (patterns), those
#                 that one function never reaches: ntb_test.sh stops at its
#                 first failure, so the tests after it run only on the other
. /lib/eptest.sh
. /lib/vntb.sh

epfs=$(echo "${epfs:-pci_epf_vntb,pci_epf_vntb}" | tr ',' ' ')
set -- $(ls "$CFS/controllers")
i=0
for f in $epfs; do
	i=$((i + 1))
	epc=$(eval echo "\${$i:-}")
	VBUS=$((0x10 + i))
	if [ -z "$epc" ]; then
		not_ok "function $i ($f): no controller left"; exit 1
	fi
	if vntb_create "$f" "func$i" && vntb_start "$FN" "$epc"; then
		ok "function $i: $f bound to $epc, NTB devices host=$NTB_HOST ep=$NTB_EP"
	else
		not_ok "function $i: $f bound to $epc with both NTB devices (bind)"; exit 1
	fi
	eval "FN_$i=\$FN EPC_$i=\$epc HOSTDEV_$i=\$NTB_HOST EPDEV_$i=\$NTB_EP"
done
n=$i

i=0
for f in $epfs; do
	i=$((i + 1))
	epf=$f
	eval "NTB_HOST=\$HOSTDEV_$i NTB_EP=\$EPDEV_$i epc=\$EPC_$i known=\${known$i:-}"
	echo "# suite for function $i ($f): host $NTB_HOST, endpoint $NTB_EP"
	RESULTS=""
	vntb_suite
	printf '%s' "$RESULTS" >"/tmp/results.$i"
	eval "KNOWN_$i=\$known"
done

# Compare each function's results with the first one's.
i=1
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	eval "k=\"\$KNOWN_1,\$KNOWN_$i,\${unpaired:-}\""
	d=$(awk -v k="$k" '
		BEGIN { nk = split(k, ks, ",") }
		function skip(c,   j, p) {
			for (j = 1; j <= nk; j++) {
				if (ks[j] == "") continue
				p = ks[j]; gsub(/\*/, ".*", p)
				if (c ~ ("^" p "$")) return 1
			}
			return 0
		}
		FNR == NR { a[$1] = $2; next }
		{ b[$1] = $2 }
		END {
			for (c in a) if (!skip(c) && a[c] != b[c]) printf " %s: %s vs %s", c, a[c], (c in b ? b[c] : "missing")
			for (c in b) if (!skip(c) && !(c in a)) printf " %s: missing vs %s", c, b[c]
		}' "/tmp/results.1" "/tmp/results.$i")
	total=$(wc -l <"/tmp/results.1")
	if [ -z "$d" ] && [ "$total" -gt 0 ]; then
		ok "parity: function $i gives the per-check results of function 1 ($total checks)"
	else
		not_ok "parity: function $i differs from function 1 (differ)" "$d"
	fi
done

i=0
for f in $epfs; do
	i=$((i + 1))
	eval "NTB_HOST=\$HOSTDEV_$i NTB_EP=\$EPDEV_$i FN=\$FN_$i epc=\$EPC_$i"
	HOST_PCI=$NTB_HOST
	check "function $i: torn down" vntb_teardown "$FN" "$epc"
done
tap_end
