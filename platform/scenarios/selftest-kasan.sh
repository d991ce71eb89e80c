# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a KASAN report must fail the run even though this script
# itself reports success.  Listed as an expected failure in platform/matrix.
. /lib/eptest.sh
echo READ_AFTER_FREE > /sys/kernel/debug/provoke-crash/DIRECT
ok "provoked a use-after-free read through LKDTM"
tap_end
