# SPDX-License-Identifier: GPL-2.0
# Runner self-test: a scenario that never finishes must fail the run on the
# wall-clock limit.  Listed as an expected failure in platform/matrix.
. /lib/eptest.sh
while :; do sleep 1; done
