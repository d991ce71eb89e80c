# SPDX-License-Identifier: GPL-2.0
# A hostile host against pci-epf-test (or a driver with its register block):
# the function is bound to the loopback with pci_endpoint_test on the host
# side (MSI, so interrupts are counted in /proc/interrupts), and each check
# drives the endpoint through BAR0 registers directly with the loopback's
# bus exerciser (debugfs host-bar0, tool epreg).
#
# Contract checked for every rejected command: the endpoint still completes
# it, i.e. STATUS gets IRQ_RAISED plus at least one failure bit (a *_FAIL
# bit, SRC/DST_ADDR_INVALID or NO_RESOURCE) and no success bit, and an
# interrupt reaches the host.  Never a crash, hang or out-of-bounds access
# (the runner fails the boot on any checker report).
#
# Kernel command line (environment of init):
#   epf=NAME       endpoint function driver (default pci_epf_test)
#   checks=A,B     checks to run, in this order (default: all of them):
#     doorbell-cycle    positive control: ENABLE_DOORBELL, ring it through
#                       the BAR, DISABLE_DOORBELL; the BAR is memory again
#     disable-doorbell  DISABLE_DOORBELL with no doorbell enabled
#     irq-type          a command with irq_type 7
#     irq-number        MSI irq_number 0 and 33 (32 vectors allocated); an
#                       ENABLE_DOORBELL rejected for its vector enables nothing
#     dma-no-channel    FLAG_USE_DMA on an EP without DMA (uml,dma = "none")
#     huge-size         READ/WRITE/COPY of 2-4 GiB
#     addr-overflow     host address + size wrapping past 2^64
#     subrange-bar      BAR_SUBRANGE_SETUP/CLEAR with bad BAR numbers
#     doorbell-bar-oob  DISABLE_DOORBELL with doorbell_bar = 6 written by
#                       the host; the doorbell must still be released
#     doorbell-bar-wrong  the same with doorbell_bar = 0 (a valid BAR that
#                       is not the doorbell's)
#     unbind-leak       unbind and remove the function with a doorbell
#                       enabled: its IRQ must be gone, no kmemleak report
# A failing check names its cause in parentheses, e.g. "(never-completed)",
# which the matrix' expected failures match.
. /lib/eptest.sh

epf=${epf:-pci_epf_test}
all=doorbell-cycle,disable-doorbell,irq-type,irq-number,dma-no-channel,huge-size,addr-overflow
all=$all,subrange-bar,doorbell-bar-oob,doorbell-bar-wrong,unbind-leak
checks=${checks:-$all}
dev=/dev/pci-endpoint-test.0
TMO=2000	# ms: the EP polls its COMMAND register every jiffy

# Register block (inventory.md section 2.2) and bits (section 2.3)
R_COMMAND=0x04 R_STATUS=0x08 R_SRC_LO=0x0c R_SRC_HI=0x10 R_DST_LO=0x14
R_DST_HI=0x18 R_SIZE=0x1c R_IRQ_TYPE=0x24 R_IRQ_NUMBER=0x28 R_FLAGS=0x2c
R_DB_BAR=0x34 R_DB_OFFSET=0x38 R_DB_DATA=0x3c
C_RAISE_MSI=0x2 C_READ=0x8 C_WRITE=0x10 C_COPY=0x20 C_ENABLE_DB=0x40
C_DISABLE_DB=0x80 C_SUB_SETUP=0x100 C_SUB_CLEAR=0x200
S_IRQ_RAISED=0x40 S_DB_OK=0x200 S_DB_ENABLE_OK=0x400 S_DB_DISABLE_OK=0x1000
S_DB_DISABLE_FAIL=0x2000
# READ/WRITE/COPY_FAIL, SRC/DST_ADDR_INVALID, DOORBELL_ENABLE/DISABLE_FAIL,
# BAR_SUBRANGE_SETUP/CLEAR_FAIL, NO_RESOURCE
S_FAIL_ANY=$((0x2 | 0x8 | 0x20 | 0x80 | 0x100 | 0x800 | 0x2000 | 0x8000 | 0x20000 | 0x40000))
# READ/WRITE/COPY_SUCCESS, DOORBELL_SUCCESS, DOORBELL_ENABLE/DISABLE_SUCCESS,
# BAR_SUBRANGE_SETUP/CLEAR_SUCCESS
S_OK_ANY=$((0x1 | 0x4 | 0x10 | 0x200 | 0x400 | 0x1000 | 0x4000 | 0x10000))

hex() { printf '0x%08x' $(($1)); }

# Interrupts the host driver received, all vectors and CPUs
irq_count() {
	awk '/pci-endpoint-test\.0/ {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
	} END { print s + 0 }' /proc/interrupts
}

reg() { epreg "$B0" "$@"; }

# The IRQ numbers of /proc/interrupts, one per line, sorted
irq_lines() { awk -F: '/^ *[0-9]+:/ { print $1 + 0 }' /proc/interrupts | sort; }

# hcmd COMMAND: issue a command as the host would and wait for it to
# complete.  Sets ST (final STATUS), DONE (0: IRQ_RAISED seen) and NIRQ
# (interrupts received meanwhile).
hcmd() {
	reg $R_STATUS 0
	c0=$(irq_count)
	reg $R_COMMAND "$1"
	ST=$(epreg -w "$B0" $R_STATUS $S_IRQ_RAISED $TMO); DONE=$?
	i=0	# the interrupt follows the STATUS write
	while [ "$DONE" = 0 ] && [ "$(irq_count)" = "$c0" ] && [ $i -lt 50 ]; do
		sleep 0.01; i=$((i + 1))
	done
	NIRQ=$(($(irq_count) - c0))
}

# rejected DESC COMMAND: the command must complete with a failure status and
# an interrupt.
rejected() {
	hcmd "$2"
	if [ "$DONE" != 0 ]; then
		not_ok "$1: no completion within $TMO ms (never-completed)" \
			"STATUS $ST, interrupts $NIRQ"
	elif [ "$NIRQ" -lt 1 ]; then
		not_ok "$1: STATUS says IRQ_RAISED but no interrupt reached the host (no-irq)" \
			"STATUS $ST"
	elif [ $((ST & S_FAIL_ANY)) = 0 ] || [ $((ST & S_OK_ANY)) != 0 ]; then
		not_ok "$1: completed without a failure status (no-fail-status)" \
			"STATUS $ST"
	else
		ok "$1: failure status $ST and an interrupt"
	fi
}

# Host registers as pci_endpoint_test leaves them: MSI vector 1, no DMA
host_defaults() {
	reg $R_IRQ_TYPE 1 && reg $R_IRQ_NUMBER 1 && reg $R_FLAGS 0
}

# set64 LO_REG HI_REG VALUE
set64() {
	reg "$1" $(($3 & 0xffffffff)) && reg "$2" $((($3 >> 32) & 0xffffffff))
}

# Doorbell helpers: DBBAR is the BAR the EP reported on ENABLE
db_enable() {
	hcmd $C_ENABLE_DB
	if [ "$DONE" = 0 ] && [ $((ST & S_DB_ENABLE_OK)) != 0 ]; then
		DBBAR=$(($(reg $R_DB_BAR)))
		echo "# doorbell enabled: BAR$DBBAR offset $(reg $R_DB_OFFSET) data $(reg $R_DB_DATA)"
		return 0
	fi
	echo "# ENABLE_DOORBELL: STATUS $ST"
	return 1
}

# bar_is_memory BAR [OFFSET]: a word written through BAR at OFFSET (default
# 0x800) reads back (the BAR is backed by the function's memory again, not by
# the doorbell page).  The register BAR is only 1 KiB (register block, MSI-X
# table, PBA): probe it at 0x7c, the unused end of the 128-byte register area.
bar_is_memory() {
	f=$(dirname "$B0")/host-bar$1 o=${2:-0x800}
	epreg "$f" $o 0x5aa5c33c && v=$(epreg "$f" $o) &&
		[ "$v" = 0x5aa5c33c ] && epreg "$f" $o 0
}

# tampered_disable DESC VALUE: DISABLE_DOORBELL with the host's doorbell_bar
# overwritten by VALUE.  The EP may refuse (DISABLE_FAIL) or disable its own
# doorbell (DISABLE_SUCCESS); either way it completes, and once disabled
# (after a retry with the true BAR if refused) the doorbell BAR is memory.
tampered_disable() {
	if ! db_enable; then
		not_ok "$1: ENABLE_DOORBELL failed, nothing to test (setup)"
		return
	fi
	# The host's tampering must be in place, or the check tests nothing.
	if ! reg $R_DB_BAR "$2" || [ "$(reg $R_DB_BAR)" != "$(hex "$2")" ]; then
		not_ok "$1: DB_BAR could not be set to $2 (setup)"
		return
	fi
	hcmd $C_DISABLE_DB
	if [ "$DONE" != 0 ] || [ "$NIRQ" -lt 1 ]; then
		not_ok "$1: no completion with an interrupt (never-completed)" \
			"STATUS $ST, interrupts $NIRQ"
		return
	fi
	if [ $((ST & S_DB_DISABLE_FAIL)) != 0 ]; then
		echo "# refused (STATUS $ST); retrying with doorbell_bar = $DBBAR"
		reg $R_DB_BAR $DBBAR
		hcmd $C_DISABLE_DB
	fi
	if [ "$DONE" != 0 ] || [ $((ST & S_DB_DISABLE_OK)) = 0 ]; then
		not_ok "$1: the doorbell could not be disabled (disable-failed)" \
			"STATUS $ST"
	elif ! bar_is_memory "$DBBAR"; then
		not_ok "$1: BAR$DBBAR still maps the doorbell after DISABLE (still-mapped)"
	elif ! bar_is_memory 0 0x7c || [ "$(reg $R_IRQ_TYPE)" != 0x00000001 ]; then
		not_ok "$1: the register BAR lost its memory (reg-bar-lost)"
	else
		ok "$1: completed (STATUS $ST), doorbell BAR$DBBAR restored"
	fi
}

# ------------------------------------------------------------------------
# Bring-up: the function, the link, the host driver with MSI
fn=$CFS/functions/$epf/func1
if epf_test_create "$fn" 32; then
	ok "configfs: $epf function created and configured"
else
	not_ok "configfs: $epf function created and configured"; exit 1
fi
epc=$(ls "$CFS/controllers" | head -1)
if [ -n "$epc" ] && ln -s "$fn" "$CFS/controllers/$epc/" && echo 1 >"$CFS/controllers/$epc/start"; then
	wait_until test -e $dev
fi
B0=$(ls -d /sys/kernel/debug/pci-loopback-ep/*/host-bar0 2>/dev/null | head -1)
if [ -e $dev ] && [ -n "$B0" ] && epreg -i $dev 1 &&
	grep -q 'pci-endpoint-test\.0' /proc/interrupts; then
	ok "bound to $epc, host driver up with MSI, exerciser $B0"
else
	not_ok "bound to $epc, host driver up with MSI, exerciser present"; exit 1
fi
# The exerciser itself: reads reach the EP-written CAPS (CAP_MSI set),
# unaligned accesses are refused, past the BAR reads all-ones, past 16 MiB
# is end of file.
caps=$(reg 0x30)
if [ $((caps & 0x2)) != 0 ] && ! epreg "$B0" 2 2>/dev/null &&
	[ "$(reg 0x100000)" = 0xffffffff ] &&
	[ "$(dd if="$B0" bs=4 count=1 skip=$((0x1000000 / 4)) 2>/dev/null | wc -c)" = 0 ]; then
	ok "exerciser: CAPS $caps read through BAR0, bounds enforced"
else
	not_ok "exerciser: CAPS read through BAR0, bounds enforced" "CAPS $caps"
fi
host_defaults
hcmd $C_RAISE_MSI
if [ "$DONE" = 0 ] && [ "$NIRQ" -ge 1 ]; then
	ok "sanity: RAISE_MSI_IRQ through BAR0 completes ($ST, $NIRQ interrupt)"
else
	not_ok "sanity: RAISE_MSI_IRQ through BAR0 completes" "STATUS $ST, interrupts $NIRQ"
fi

torn=0
for c in $(echo "$checks" | tr ',' ' '); do
	echo "# check: $c"
	# unbind-leak tears the function down: what comes after it cannot run.
	if [ $torn = 1 ]; then
		not_ok "$c: not run, listed after unbind-leak (order the checks)"
		continue
	fi
	host_defaults
	case $c in
	disable-doorbell)
		# doorbell_bar as the EP left it (0 after bring-up: BAR memory
		# is zeroed), then a plausible doorbell BAR written by the host
		for v in "" 1; do
			[ -n "$v" ] && reg $R_DB_BAR $v
			d="disable-doorbell: DISABLE_DOORBELL, none enabled, doorbell_bar ${v:-$(reg $R_DB_BAR)}"
			hcmd $C_DISABLE_DB
			if [ "$DONE" = 0 ] && [ "$NIRQ" -ge 1 ] &&
				[ $((ST & S_DB_DISABLE_FAIL)) != 0 ] &&
				[ $((ST & S_DB_DISABLE_OK)) = 0 ]; then
				ok "$d: DOORBELL_DISABLE_FAIL ($ST) and an interrupt"
			else
				not_ok "$d: expected DOORBELL_DISABLE_FAIL and an interrupt (no-fail-status)" \
					"STATUS $ST, completed $DONE, interrupts $NIRQ"
			fi
		done ;;
	irq-type)
		reg $R_IRQ_TYPE 7
		rejected "irq-type: RAISE_MSI_IRQ with irq_type 7" $C_RAISE_MSI ;;
	irq-number)
		reg $R_IRQ_NUMBER 33
		rejected "irq-number: RAISE_MSI_IRQ with irq_number 33 of 32" $C_RAISE_MSI
		reg $R_IRQ_NUMBER 0
		rejected "irq-number: RAISE_MSI_IRQ with irq_number 0" $C_RAISE_MSI
		# A command rejected for its vector must not have run: no doorbell
		# IRQ requested, no BAR retargeted.
		irq_lines >/tmp/irqs.0
		reg $R_IRQ_NUMBER 33
		rejected "irq-number: ENABLE_DOORBELL with irq_number 33 of 32" $C_ENABLE_DB
		irq_lines >/tmp/irqs.1
		new=$(grep -vxFf /tmp/irqs.0 /tmp/irqs.1 | paste -sd' ')
		reg $R_IRQ_NUMBER 1
		if [ -n "$new" ]; then
			not_ok "irq-number: the rejected ENABLE_DOORBELL enabled a doorbell anyway (took-effect)" \
				"new IRQ(s) $new, STATUS $ST"
			hcmd $C_DISABLE_DB
		else
			ok "irq-number: the rejected ENABLE_DOORBELL left no doorbell"
		fi ;;
	dma-no-channel)
		set64 $R_SRC_LO $R_SRC_HI 0x100000; reg $R_SIZE 4096; reg $R_FLAGS 1
		rejected "dma-no-channel: READ with FLAG_USE_DMA" $C_READ ;;
	huge-size)
		set64 $R_SRC_LO $R_SRC_HI 0x100000; set64 $R_DST_LO $R_DST_HI 0x200000
		reg $R_SIZE 0xffffffff
		rejected "huge-size: READ of 4 GiB - 1" $C_READ
		reg $R_SIZE 0x80000000
		rejected "huge-size: WRITE of 2 GiB" $C_WRITE
		reg $R_SIZE 0xfffff000
		rejected "huge-size: COPY of 4 GiB - 4 KiB" $C_COPY ;;
	addr-overflow)
		reg $R_SIZE 0x2000
		set64 $R_SRC_LO $R_SRC_HI 0xfffffffffffff000
		rejected "addr-overflow: READ at 2^64 - 4 KiB, 8 KiB" $C_READ
		set64 $R_DST_LO $R_DST_HI 0xffffffffffffff00
		rejected "addr-overflow: WRITE at 2^64 - 256, 8 KiB" $C_WRITE
		set64 $R_SRC_LO $R_SRC_HI 0x100000
		rejected "addr-overflow: COPY to 2^64 - 256, 8 KiB" $C_COPY ;;
	subrange-bar)
		for b in 6 0xffffffff 0x80000000 0; do
			reg $R_SIZE $b
			rejected "subrange-bar: BAR_SUBRANGE_SETUP of BAR $b" $C_SUB_SETUP
		done
		for b in 6 0xffffffff 2; do
			reg $R_SIZE $b
			rejected "subrange-bar: BAR_SUBRANGE_CLEAR of BAR $b (no subrange)" $C_SUB_CLEAR
		done ;;
	doorbell-cycle)
		if ! db_enable; then
			not_ok "doorbell-cycle: ENABLE_DOORBELL (enable-failed)"
			continue
		fi
		reg $R_STATUS 0
		c0=$(irq_count)
		epreg "$(dirname "$B0")/host-bar$DBBAR" "$(reg $R_DB_OFFSET)" "$(reg $R_DB_DATA)"
		ST=$(epreg -w "$B0" $R_STATUS $((S_DB_OK | S_IRQ_RAISED)) $TMO)
		if [ $? != 0 ]; then
			not_ok "doorbell-cycle: ringing the doorbell completes (never-completed)" "STATUS $ST"
		else
			ok "doorbell-cycle: the doorbell rang ($ST)"
		fi
		hcmd $C_DISABLE_DB
		if [ "$DONE" = 0 ] && [ $((ST & S_DB_DISABLE_OK)) != 0 ] && bar_is_memory "$DBBAR"; then
			ok "doorbell-cycle: DISABLE_DOORBELL ($ST), BAR$DBBAR is memory again"
		else
			not_ok "doorbell-cycle: DISABLE_DOORBELL, BAR$DBBAR is memory again (disable-failed)" \
				"STATUS $ST"
		fi ;;
	doorbell-bar-oob)
		tampered_disable "doorbell-bar-oob: DISABLE_DOORBELL with doorbell_bar = 6" 6 ;;
	doorbell-bar-wrong)
		tampered_disable "doorbell-bar-wrong: DISABLE_DOORBELL with doorbell_bar = 0" 0 ;;
	unbind-leak)
		irq_lines >/tmp/irqs.0
		if ! db_enable; then
			not_ok "unbind-leak: ENABLE_DOORBELL failed, nothing to test (setup)"
			continue
		fi
		irq_lines >/tmp/irqs.1
		new=$(grep -vxFf /tmp/irqs.0 /tmp/irqs.1 | paste -sd' ')
		echo "# doorbell IRQ(s): $new"
		grep -E "^ *($(echo "$new" | tr ' ' '|')):" /proc/interrupts | sed 's/^/# /'
		torn=1
		cfs_write 0 "$CFS/controllers/$epc/start" && wait_until test ! -e $dev
		if [ ! -e $dev ] && rm "$CFS/controllers/$epc/func1" && rmdir "$fn"; then
			ok "unbind-leak: link stopped, function unbound and removed"
		else
			not_ok "unbind-leak: link stopped, function unbound and removed (teardown)"
		fi
		left=""
		for q in $new; do
			grep -q "^ *$q:" /proc/interrupts && left="$left $q"
		done
		if [ -z "$new" ]; then
			not_ok "unbind-leak: no new IRQ seen for the doorbell (setup)"
		elif [ -n "$left" ]; then
			not_ok "unbind-leak: doorbell IRQ still requested after removal (irq-left)" \
				"$(grep -E "^ *($(echo "$left" | sed 's/^ //' | tr ' ' '|')):" /proc/interrupts)"
		else
			ok "unbind-leak: doorbell IRQ $new released"
		fi
		if eptest_kmemleak; then
			ok "unbind-leak: kmemleak clean"
		else
			not_ok "unbind-leak: kmemleak reports a leak (leak)"
		fi ;;
	*)
		not_ok "unknown check '$c'" ;;
	esac
done

if [ $torn = 0 ]; then
	cfs_write 0 "$CFS/controllers/$epc/start" && wait_until test ! -e $dev
	if [ ! -e $dev ] && rm "$CFS/controllers/$epc/func1" && rmdir "$fn"; then
		ok "torn down: link stopped, function unbound and removed"
	else
		not_ok "torn down: link stopped, function unbound and removed"
	fi
fi
tap_end
