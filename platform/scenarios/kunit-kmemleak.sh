# SPDX-License-Identifier: GPL-2.0
# Run by the KUnit boot after the suites: nothing to do here; /init then
# scans for leaks (eptest_kmemleak), so that a KUnit test that leaks fails.
echo "# KUnit suites done; kmemleak scan follows"
exit 0
