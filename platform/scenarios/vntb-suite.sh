# SPDX-License-Identifier: GPL-2.0
# The vNTB test suite (vntb_suite in /lib/vntb.sh): one vNTB function on the
# first loopback controller, ntb_hw_epf on the host side, then ntb_tool
# (link both ways, every doorbell bit, every scratchpad, memory window data
# each way), ntb_pingpong, ntb_perf (memcpy, and DMA from the endpoint) and
# the kernel's ntb_test.sh on the two NTB devices; a checked teardown.
#   epf=NAME       the function driver (default pci_epf_vntb; the Rust port
#                  is pci_epf_vntb_rs, with the same configfs attributes)
#   checks=A,B     the checks of vntb_suite to run (default: all)
#   known=A,B      checks known to fail on this function (they must fail;
#                  patterns allowed), see vcheck in /lib/vntb.sh
#   db_count= spad_count= num_mws= mw_size= vbus=  the function's values
. /lib/eptest.sh
. /lib/vntb.sh

vntb_setup
vntb_suite
check "torn down: link down, controller stopped, function unbound" vntb_teardown "$FN" "$epc"
tap_end
