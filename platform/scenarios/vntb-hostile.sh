# SPDX-License-Identifier: GPL-2.0
# A hostile host against a vNTB function: the function is bound and started
# as for ntb_hw_epf, then ntb_hw_epf is unbound from the host device and the
# loopback's bus exerciser (debugfs host-barN, tool epreg) plays the host,
# writing the control region in BAR0 (inventory.md section 3.4) and the
# doorbell BAR directly; ntb_tool on the endpoint's NTB device watches the
# endpoint side.
#
# Contract: every command with bad arguments completes with COMMAND_STATUS
# ERROR (2) within 1000 ms (ntb_hw_epf's own command time-out) and changes
# nothing in the control region; valid commands still work afterwards; in
# polling mode, host writes to doorbell slots the function does not have
# (slots 0 and 1, slots from db_count on) ring nothing.  Never a crash or an
# out-of-bounds access (the runner fails the boot on any checker report).
#
# Kernel command line:
#   epf=NAME     function driver (default pci_epf_vntb)
#   checks=A,B   in this order (default: all):
#     control    LINK_UP, CONFIGURE_MW 0 onto the exerciser's host buffer,
#                endpoint data through the window lands there, TEARDOWN_MW 0
#                (a positive control; run again at the end as control-after)
#     mw-index   CONFIGURE_MW and TEARDOWN_MW with index num_mws, 4 and
#                0xffffffff
#     mw-range   CONFIGURE_MW 0 with a size beyond the window, and with an
#                address range that wraps past 2^64
#     unknown    commands 0x7 and 0xffffffff
#     db-slots   doorbell slots 0, 1 and db_count..31 written (polling mode)
#   db_count=4 (this scenario's default) and the other vntb_create values
# A failing check names its cause in parentheses (never-completed,
# accepted, changed, rang, no-data), which the matrix' expected failures
# match.
. /lib/eptest.sh
. /lib/vntb.sh

checks=${checks:-control,mw-index,mw-range,unknown,db-slots}
db_count=${db_count:-4}
TMO=1000
# Control region (inventory.md section 3.4) and commands (section 3.5)
R_CMD=0x00 R_ARG=0x04 R_STATUS=0x08 R_ADDR_LO=0x10 R_ADDR_HI=0x14 R_SIZE_LO=0x18
R_SIZE_HI=0x1c R_NUM_MWS=0x20 R_DB_ENTRY_SIZE=0x30
CMD_LINK_UP=5 CMD_CONFIGURE_MW=3 CMD_TEARDOWN_MW=4
ST_OK=1 ST_ERROR=2
DB_BAR=${db_bar:-2}	# ntb_hw_epf's i.MX8 map: control BAR0, doorbells BAR2

vntb_setup
# From here on the exerciser is the host.  Memory decoding through sysfs, and
# bus mastering (PCI_COMMAND, config offset 4) for the endpoint's writes into
# the host buffer: the loopback drops them without it, as a bus would.
enable_master() {
	printf '\006\000' | dd of="/sys/bus/pci/devices/$HOST_PCI/config" bs=2 seek=2 \
		conv=notrunc 2>/dev/null
}
echo "$HOST_PCI" >/sys/bus/pci/drivers/ntb_hw_epf/unbind &&
	echo 1 >"/sys/bus/pci/devices/$HOST_PCI/enable" && enable_master ||
	{ not_ok "unbind ntb_hw_epf from $HOST_PCI, enable its memory decoding and bus mastering"; exit 1; }
D=$(lbep_dir "$epc") B0=$(lbep_dir "$epc")/host-bar0
modprobe ntb_tool
E=/sys/kernel/debug/ntb_tool/$NTB_EP
wait_until test -d "$E"
if [ -r "$B0" ] && [ -d "$E" ]; then ok "exerciser $B0 and ntb_tool on the endpoint's $NTB_EP"
else not_ok "exerciser $B0 and ntb_tool on the endpoint's $NTB_EP"; exit 1; fi
NUM_MWS=$(($(epreg "$B0" $R_NUM_MWS)))
echo "# control region: num_mws $NUM_MWS, db_entry_size $(epreg "$B0" $R_DB_ENTRY_SIZE)"
read -r HBUF HBUF_SIZE <"$D/host-dma-addr"
echo "# exerciser host buffer: $HBUF, $HBUF_SIZE bytes"

reg() { epreg "$B0" "$@"; }
set64() { reg "$1" $(($3 & 0xffffffff)) && reg "$2" $((($3 >> 32) & 0xffffffff)); }

# hcmd COMMAND ARGUMENT: as ntb_hw_epf sends a command (argument, then
# command), with COMMAND_STATUS cleared first (the 32-bit write keeps
# link_status, the upper half).  Sets DONE (0: a status came), ST (the
# status) and MS (the milliseconds it took).
hcmd() {
	_s=$(reg $R_STATUS)
	reg $R_STATUS $((_s & 0xffff0000))
	reg $R_ARG "$2"
	reg $R_CMD "$1"
	_o=$(epreg -a "$B0" $R_STATUS 0x3 $TMO)
	DONE=$?
	ST=$((${_o%% *} & 0xffff)) MS=${_o#* }
}

# snapshot: the control region the endpoint owns (topology, num_mws and
# everything from there to the end of the doorbell table).
snapshot() {
	od -A n -t x4 -j 12 -N 4 "$B0"
	od -A n -t x4 -j $((R_NUM_MWS)) -N $((0x134 - R_NUM_MWS)) "$B0"
}

# rejected DESC COMMAND ARGUMENT ADDR SIZE
rejected() {
	set64 $R_ADDR_LO $R_ADDR_HI "$4" && set64 $R_SIZE_LO $R_SIZE_HI "$5"
	_b=$(snapshot)
	hcmd "$2" "$3"
	_a=$(snapshot)
	if [ "$DONE" != 0 ]; then
		not_ok "$1: no COMMAND_STATUS within $TMO ms (never-completed)"
	elif [ "$ST" = $ST_OK ]; then
		not_ok "$1: COMMAND_STATUS OK, not ERROR (accepted)"
	elif [ "$ST" != $ST_ERROR ]; then
		not_ok "$1: COMMAND_STATUS $ST, not ERROR (accepted)"
	elif [ "$_b" != "$_a" ]; then
		not_ok "$1: the control region changed (changed)" \
			"$(printf '%s\n' "$_b" >/tmp/b; printf '%s\n' "$_a" >/tmp/a; diff /tmp/b /tmp/a)"
	else
		ok "$1: ERROR after $MS ms, control region unchanged"
	fi
}

# accepted DESC COMMAND ARGUMENT ADDR SIZE: a valid command completes OK.
accepted() {
	set64 $R_ADDR_LO $R_ADDR_HI "$4" && set64 $R_SIZE_LO $R_SIZE_HI "$5"
	hcmd "$2" "$3"
	if [ "$DONE" = 0 ] && [ "$ST" = $ST_OK ]; then ok "$1: OK after $MS ms"
	else not_ok "$1: COMMAND_STATUS $ST (done $DONE) after $MS ms, not OK"; fi
}

# control NAME: the valid commands work, and endpoint data through memory
# window 0 reaches the host buffer the host mapped it to.
control() {
	accepted "$1: LINK_UP" $CMD_LINK_UP 0 0 0
	dd if=/dev/zero of="$D/host-dma" bs=4096 count=16 conv=notrunc 2>/dev/null
	accepted "$1: CONFIGURE_MW 0 onto the host buffer (64 KiB)" $CMD_CONFIGURE_MW 0 "$HBUF" 0x10000
	dd if=/dev/urandom of=/tmp/pat bs=4096 count=16 2>/dev/null
	if echo "$((HBUF)):65536" >"$E/peer0/peer_mw_trans0" &&
		dd if=/tmp/pat of="$E/peer0/peer_mw0" bs=4096 conv=notrunc 2>/dev/null &&
		cmp -s -n 65536 /tmp/pat "$D/host-dma"; then
		ok "$1: endpoint data through window 0 reached the host buffer"
	else
		not_ok "$1: endpoint data through window 0 did not reach the host buffer (no-data)"
	fi
	echo "$((HBUF)):0" >"$E/peer0/peer_mw_trans0"
	accepted "$1: TEARDOWN_MW 0" $CMD_TEARDOWN_MW 0 0 0
}

mw_index() {
	for i in $NUM_MWS 4 0xffffffff; do
		rejected "mw-index: CONFIGURE_MW $i (num_mws $NUM_MWS)" $CMD_CONFIGURE_MW $i "$HBUF" 0x10000
		rejected "mw-index: TEARDOWN_MW $i (num_mws $NUM_MWS)" $CMD_TEARDOWN_MW $i 0 0
	done
}

mw_range() {
	_mw=$(($(cat "$CFG/mw1")))
	rejected "mw-range: CONFIGURE_MW 0 with size $((2 * _mw)) (window $_mw)" \
		$CMD_CONFIGURE_MW 0 "$HBUF" $((2 * _mw))
	rejected "mw-range: CONFIGURE_MW 0 of 0xfffffffffffff000 + 64 KiB (wraps)" \
		$CMD_CONFIGURE_MW 0 0xfffffffffffff000 0x10000
}

unknown() {
	for c in 0x7 0xffffffff; do
		rejected "unknown: command $c" $c 0 0 0
	done
}

# db_slots: in polling mode (db_entry_size 4) the host rings slot n by
# writing n + 1 at 4n in the doorbell BAR (inventory.md section 3.6).
db_slots() {
	if [ $(($(reg $R_DB_ENTRY_SIZE))) != 4 ]; then
		result s "db-slots: the function is not in polling mode" "db_entry_size $(reg $R_DB_ENTRY_SIZE)"
		return
	fi
	F=$D/host-bar$DB_BAR
	echo "c $(cat "$E/db_valid_mask")" >"$E/db"
	for n in 0 1 $(seq "$db_count" 31); do epreg "$F" $((4 * n)) $((n + 1)); done
	sleep 0.2	# 40 polls of the endpoint
	v=$(cat "$E/db")
	[ $((v)) = 0 ] && ok "db-slots: slots 0, 1 and $db_count..31 rang nothing" ||
		not_ok "db-slots: slots 0, 1 and $db_count..31 rang doorbells $v (rang)"
	# Positive control: slot 2 is doorbell 0.
	epreg "$F" 8 3
	bit0() { [ $(($(cat "$E/db") & 1)) = 1 ]; }
	if wait_until bit0; then ok "db-slots: slot 2 rang doorbell 0 (control)"
	else not_ok "db-slots: slot 2 did not ring doorbell 0 (no-data)" "db $(cat "$E/db")"; fi
	echo "c $(cat "$E/db_valid_mask")" >"$E/db"
}

for c in $(echo "$checks" | tr ',' ' '); do
	case $c in
	control) control control ;;
	mw-index) mw_index ;;
	mw-range) mw_range ;;
	unknown) unknown ;;
	db-slots) db_slots ;;
	*) not_ok "unknown check '$c'" ;;
	esac
done
case ",$checks," in *,control,*) control control-after ;; esac
modprobe -r ntb_tool
tap_end
