# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a kernel WARN must fail the run even though this script
# itself reports success.  Listed as an expected failure in platform/matrix.
. /lib/eptest.sh
echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT
ok "provoked a WARN through LKDTM"
tap_end
