# SPDX-License-Identifier: GPL-2.0
# The R-Car Gen4 kit's setup script, /bin/ep-function, on the loopback
# controller: the steps a board user runs, checked against the stock host
# drivers.  pci_epf_test_rs, then the C pci_epf_test, are bound with the
# kit's defaults, driven by the kselftest pci_endpoint_test and stopped;
# then the vNTB functions, pci_epf_vntb_rs (stopped and removed again) and
# the C pci_epf_vntb (which Linux 7.2 cannot remove), with the ID and BAR
# layout ntb_hw_epf expects of R-Car (1912:0030: control BAR0, doorbells
# BAR4, memory window BAR2).
#
# Kernel command line:
#   vntb_bars=C:D:M  give ep-function vntb this BAR layout instead (-b):
#                    another layout than R-Car's must fail the NTB checks
#                    (the line board-setup-bad-bars)
. /lib/eptest.sh

host_dev() { # wait up to 5 s for /dev/pci-endpoint-test.0 to be PRESENT (1) or gone (0)
	if [ "$1" = 1 ]; then wait_until test -e /dev/pci-endpoint-test.0
	else wait_until test ! -e /dev/pci-endpoint-test.0; fi
}

stopped() { # the function of $f is gone, and so is the host's device
	ep-function stop && host_dev 0 && [ -z "$(ls "$CFS/functions/$f")" ]
}

for f in pci_epf_test_rs pci_epf_test; do
	if ep-function test -f $f && host_dev 1; then
		ok "ep-function test -f $f: host bound pci_endpoint_test"
	else
		not_ok "ep-function test -f $f: host bound pci_endpoint_test"; exit 1
	fi
	pci_endpoint_test -t BAR_TEST -t MSI_TEST -t DOORBELL_TEST >/tmp/kst-$f.out 2>&1
	rc=$?
	sed 's/^/    /' /tmp/kst-$f.out
	[ $rc = 0 ] && ok "kselftest BAR, MSI, DOORBELL against $f: $(grep '^# Totals' /tmp/kst-$f.out)" ||
		not_ok "kselftest BAR, MSI, DOORBELL against $f"
	check "ep-function stop: $f removed, host device gone" stopped
done

no_ntb() { [ -z "$(ls /sys/bus/ntb/devices 2>/dev/null)" ]; }
vstopped() { # the vNTB function is gone, and so are both NTB devices
	ep-function stop && wait_until no_ntb && [ -z "$(ls "$CFS/functions/$f")" ]
}

for f in pci_epf_vntb_rs pci_epf_vntb; do
	if ep-function vntb -f $f ${vntb_bars:+-b $vntb_bars}; then
		ok "ep-function vntb -f $f: 1912:0030 linked and started"
	else
		not_ok "ep-function vntb -f $f"; exit 1
	fi
	wait_ntb
	check "host: ntb_hw_epf bound the BAR layout ${vntb_bars:-of R-Car} of $f, both NTB devices present" \
		ntb_devices
	# Linux 7.2's pci_epf_vntb stays until reboot (ep-function says why).
	[ $f = pci_epf_vntb ] || check "ep-function stop: $f removed, both NTB devices gone" vstopped
done
tap_end
