#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test initramfs: static busybox, the RC-side kselftest
# pci_endpoint_test built from the kernel's own tools/testing/selftests, the
# init script and the scenarios.  Runs inside the build root.
# Usage: initramfs.sh REPO WORKTREE OUTDIR
set -euo pipefail
repo=$1 work=$2 out=$3
stage=$out/initramfs.d
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,lib,scenarios,proc,sys,dev,tmp,etc}

st=$work/tools/testing/selftests
gcc -static -O2 -Wall -D_GNU_SOURCE -I"$st" -o "$stage/bin/pci_endpoint_test" \
	"$st/pci_endpoint/pci_endpoint_test.c" -lrt -lpthread -lm

cp /bin/busybox "$stage/bin/busybox"
install -m 0755 "$repo/platform/initramfs/init" "$stage/init"
install -m 0755 "$repo/platform/initramfs/ep-function" "$stage/bin/ep-function"
# The scenarios' helpers and the TAP helper the host runners use too.
cp "$repo/platform/initramfs/eptest.sh" "$stage/lib/eptest.sh"
cp "$repo/platform/initramfs/vntb.sh" "$stage/lib/vntb.sh"
cp "$repo/platform/tap.sh" "$stage/lib/tap.sh"
cp "$repo"/platform/scenarios/*.sh "$stage/scenarios/"
for t in "$repo"/platform/tools/*.c; do
	[ -f "$t" ] || continue
	gcc -static -O2 -Wall -I"$work/include/uapi" -o "$stage/bin/$(basename "$t" .c)" "$t"
done

# The kernel's modules (the NTB clients, ntb_netdev), for busybox modprobe;
# and for the kernel's NTB selftest (a bash script, run by scenario vntb-suite),
# bash and GNU cmp (its memory window test gives cmp -n a hexadecimal count,
# which busybox cmp refuses) with the shared libraries they need.  /bin/cmp
# stays GNU's: busybox --install (in /init) leaves existing files alone.
if grep -q '^CONFIG_MODULES=y' "$out/.config"; then
	make -s -C "$work" O="$out" ARCH=um LLVM=1 INSTALL_MOD_PATH="$stage" INSTALL_MOD_STRIP=1 \
		modules_install
fi
install -m 0755 "$st/ntb/ntb_test.sh" "$stage/bin/ntb_test.sh"
for b in /bin/bash /usr/bin/cmp; do
	for f in $(ldd "$b" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[ \t]*\(\/[^ ]*\) .*/\1/p'); do
		mkdir -p "$stage$(dirname "$f")"
		cp -L "$f" "$stage$f"
	done
	cp -L "$b" "$stage/bin/$(basename "$b")"
done
[ -f /etc/ld.so.cache ] && cp /etc/ld.so.cache "$stage/etc/"

# Devicetrees of the emulated platform, one per mode (passed with dtb=).
mkdir -p "$out/dtb"
for d in "$repo"/platform/dts/*.dts; do
	dtc -q -I dts -O dtb -o "$out/dtb/$(basename "$d" .dts).dtb" "$d"
done

(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
