# SPDX-License-Identifier: GPL-2.0
# Boot the test kernel and check that the PCI endpoint configfs lists the
# endpoint function drivers this project works with.
. /lib/eptest.sh

check "configfs: pci_ep is mounted" test -d "$CFS/functions"
check "configfs: pci_epf_test is registered" test -d "$CFS/functions/pci_epf_test"
check "configfs: pci_epf_vntb is registered" test -d "$CFS/functions/pci_epf_vntb"
check "pci_endpoint_test host driver is registered" test -d /sys/bus/pci/drivers/pci-endpoint-test
echo "# endpoint functions: $(ls "$CFS/functions" | tr '\n' ' ')"
echo "# endpoint controllers: $(ls "$CFS/controllers" | tr '\n' ' ')"
tap_end
