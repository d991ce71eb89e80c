# SPDX-License-Identifier: GPL-2.0
# The doorbell allocator benchmark function pci_epf_dbbench under the test
# kernel's checkers: bound to the loopback controller, it allocates and frees
# a doorbell repeatedly with the C implementation (where it is the one behind
# pci_epf_alloc_doorbell()) and with the Rust one; any leak, KASAN or lockdep
# report fails the boot.  No timing is judged.
#
# Kernel command line: doorbell=msi|embedded (the kind the doorbells must be),
# dbimpl=C|Rust (the implementation behind pci_epf_alloc_doorbell()).
. /lib/eptest.sh

run=/sys/kernel/debug/pci_epf_dbbench/run
check_doorbell_impl

fn=$CFS/functions/pci_epf_dbbench/func1
epc=$(ls "$CFS/controllers" | head -1)
if mkdir "$fn" && ln -s "$fn" "$CFS/controllers/$epc/"; then
	ok "configfs: pci_epf_dbbench bound to $epc"
else
	not_ok "configfs: pci_epf_dbbench bound to '$epc'"; exit 1
fi

# alloc_free IMPL: 20 alloc+free pairs; the result names the doorbell kind.
alloc_free() {
	echo "$1 20" >$run || return 1
	set -- $(cat $run)
	echo "# $*"
	[ "$2" = 20 ] && [ "$4" = "$doorbell" ]
}
check "rust: 20 x alloc+free of a $doorbell doorbell" alloc_free rust
if [ "$dbimpl" = C ]; then
	check "c: 20 x alloc+free of a $doorbell doorbell" alloc_free c
elif echo "c 20" >$run 2>/dev/null; then
	not_ok "c: refused when the C allocator is not behind pci_epf_alloc_doorbell()"
else
	ok "c: refused when the C allocator is not behind pci_epf_alloc_doorbell()"
fi
if echo "rust 0" >$run 2>/dev/null || echo "x 1" >$run 2>/dev/null; then
	not_ok "invalid requests refused"
else
	ok "invalid requests refused"
fi

if rm "$CFS/controllers/$epc/func1" && rmdir "$fn" && ! echo "rust 1" >$run 2>/dev/null; then
	ok "unbound and removed; no function to run on afterwards"
else
	not_ok "unbound and removed; no function to run on afterwards"
fi
tap_end
