# SPDX-License-Identifier: GPL-2.0
# pci-epf-test on the loopback controller, driven from the RC side by the
# kselftest pci_endpoint_test, exactly as
# Documentation/PCI/endpoint/pci-test-howto.rst describes.
#
# Kernel command line (environment of init):
#   epf=NAME         endpoint function driver (default pci_epf_test)
#   doorbell=PATH    msi | embedded: where the doorbell must come from
#   db_expect=fail   DOORBELL_TEST must fail cleanly (the others must pass)
#   compare=NAME     first run the same steps with the function NAME (e.g. the
#                    C pci_epf_test), then with epf=, and require the same
#                    per-test kselftest results from both
. /lib/eptest.sh

epf=${epf:-pci_epf_test}
cmp=${compare:-}
check_doorbell_impl

# bar_attrs: the function specific configfs group of $epf has bar0_size ..
# bar5_size with the C defaults and validation; bar2_size is set to 256 KiB.
bar_attrs() {
	g=$(ls -d "$fn/$epf".* 2>/dev/null | head -1)
	[ -n "$g" ] || { echo "no $epf.* group in $fn"; return 1; }
	for b in 0 1 2 3 4; do [ "$(cat "$g/bar${b}_size")" = 131072 ] || return 1; done
	[ "$(cat "$g/bar5_size")" = 1048576 ] || return 1
	for v in 0 3 0x80000000 junk; do
		if echo $v >"$g/bar2_size" 2>/dev/null; then echo "bar2_size accepted $v"; return 1; fi
	done
	echo 0x40000 >"$g/bar2_size" && [ "$(cat "$g/bar2_size")" = 262144 ]
}

# bar2_on_host: the host sees BAR2 with the configured 256 KiB, and the size
# cannot be changed while the function is bound.
bar2_on_host() {
	r=$(ls /sys/bus/pci/devices/*/resource | head -1)
	set -- $(sed -n 3p "$r")
	[ $(($2 - $1 + 1)) = 262144 ] || { echo "host BAR2: $1-$2"; return 1; }
	g=$(ls -d "$fn/$epf".* 2>/dev/null | head -1)
	[ -n "$g" ] || return 1
	if echo 131072 >"$g/bar2_size" 2>/dev/null; then echo "bar2_size changed while bound"; return 1; fi
	[ "$(cat "$g/bar2_size")" = 262144 ]
}

# Tear down: stop the link, unbind, remove the function (the host device must
# go away with the link).
gone() { # the link goes down from a work item: give it up to 5 s
	wait_until test ! -e /dev/pci-endpoint-test.0
}

epf_run() { # FUNCTION: one complete run against the endpoint function FUNCTION
	epf=$1
	fn=$CFS/functions/$epf/func1
	kst=/tmp/kst-$epf
	if epf_test_create "$fn" 32; then
		ok "configfs: $epf function created and configured"
	else
		not_ok "configfs: $epf function created and configured"; exit 1
	fi
	check "configfs: $epf bar0_size..bar5_size with the C defaults and validation" bar_attrs

	epc=$(ls "$CFS/controllers" | head -1)
	if [ -n "$epc" ] && ln -s "$fn" "$CFS/controllers/$epc/" && echo 1 >"$CFS/controllers/$epc/start"; then
		ok "configfs: bound to $epc and started"
	else
		not_ok "configfs: bind to the endpoint controller '$epc' and start"; exit 1
	fi

	wait_until test -e /dev/pci-endpoint-test.0
	check "host: pci_endpoint_test bound (/dev/pci-endpoint-test.0)" test -e /dev/pci-endpoint-test.0
	check "host: BAR2 has the configured 256 KiB, fixed while bound ($epf)" bar2_on_host

	echo "# kselftest pci_endpoint_test against $epf:"
	if [ "$db_expect" = fail ]; then
		pci_endpoint_test -T DOORBELL_TEST >$kst.out 2>&1; rc=$?
		sed 's/^/    /' $kst.out
		pci_endpoint_test -t DOORBELL_TEST >$kst-db.out 2>&1; dbrc=$?
		sed 's/^/    /' $kst-db.out
		[ $rc = 0 ] && ok "kselftest: $(grep '^# Totals' $kst.out)" ||
			not_ok "kselftest (all but DOORBELL_TEST) failed"
		if [ $dbrc != 0 ] && grep -q '^not ok .*DOORBELL_TEST' $kst-db.out; then
			ok "kselftest: DOORBELL_TEST fails cleanly, as expected in this mode ($epf)"
		else
			not_ok "kselftest: DOORBELL_TEST was expected to fail with a status"
		fi
	else
		pci_endpoint_test >$kst.out 2>&1; rc=$?
		sed 's/^/    /' $kst.out
		[ $rc = 0 ] && ok "kselftest: $(grep '^# Totals' $kst.out)" ||
			not_ok "kselftest: $(grep '^# Totals' $kst.out)"
		# The allocator's lines of this function only: in compare mode the
		# log also holds those of the other function's run.
		check_doorbell_path "$epf" "" " ($epf)" ||
			[ $? != 2 ] ||
			not_ok "doorbell path: the scenario needs doorbell=msi|embedded or db_expect=fail"
	fi

	if cfs_write 0 "$CFS/controllers/$epc/start" && gone && rm "$CFS/controllers/$epc/func1" &&
		rmdir "$fn"; then
		ok "torn down: link stopped, $epf unbound and removed"
	else
		not_ok "torn down: link stopped, $epf unbound and removed"
	fi
}

# results FILE...: the per-test result lines of kselftest outputs, without the
# test numbers.
results() { cat "$@" | sed -n 's/^\(not ok\|ok\) [0-9]* /\1 /p'; }

rs=$epf
if [ -n "$cmp" ]; then
	epf_run "$cmp"
	epf_run "$rs"
	results /tmp/kst-$cmp.out /tmp/kst-$cmp-db.out 2>/dev/null >/tmp/res-c
	results /tmp/kst-$rs.out /tmp/kst-$rs-db.out 2>/dev/null >/tmp/res-rs
	if [ -s /tmp/res-c ] && diff -u /tmp/res-c /tmp/res-rs >/tmp/res.diff; then
		ok "parity: $rs gives the same $(wc -l </tmp/res-c) kselftest results as $cmp"
	else
		not_ok "parity: $rs and $cmp differ in their kselftest results" "$(cat /tmp/res.diff)"
	fi
else
	epf_run "$rs"
fi
tap_end
