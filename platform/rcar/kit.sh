#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The R-Car Gen4 kit, from a finished `rcar` build: Image, the Spider and
# White Hawk DTBs with and without the endpoint overlay, the overlays, an
# initramfs with busybox and the setup script, and two checks (the overlay
# applies and gives the endpoint node; every device the endpoint depends on
# has a driver in this kernel).  Runs inside the build root.
# Usage: kit.sh REPO WORKTREE BUILDDIR KITDIR DOWNLOADS
set -euo pipefail
repo=$1 work=$2 out=$3 kit=$4 dl=$5
dts=$out/arch/arm64/boot/dts/renesas
boards="r8a779f0-spider r8a779g0-white-hawk"

rm -rf "$kit.tmp"
mkdir -p "$kit.tmp" "$dl"
cp "$out/arch/arm64/boot/Image" "$kit.tmp/"

# The overlay: the kernel build already applied it (fdtoverlay, for the
# -ep.dtb); apply it again here and read the result back, so that the kit
# says what it contains.
fail=0
for b in $boards; do
	cp "$dts/$b.dtb" "$dts/$b-ep.dtbo" "$dts/$b-ep.dtb" "$kit.tmp/"
	"$out/scripts/dtc/fdtoverlay" -i "$dts/$b.dtb" -o "$kit.tmp/.check.dtb" "$dts/$b-ep.dtbo"
	ep=$(fdtget "$kit.tmp/.check.dtb" /soc/pcie-ep@e65d0000 status)
	rc=$(fdtget "$kit.tmp/.check.dtb" /soc/pcie@e65d0000 status)
	if [ "$ep" = okay ] && [ "$rc" = disabled ] && cmp -s "$kit.tmp/.check.dtb" "$dts/$b-ep.dtb"; then
		echo "ok overlay $b-ep.dtbo: pcie-ep@e65d0000 okay, pcie@e65d0000 disabled"
	else
		echo "not ok overlay $b-ep.dtbo: endpoint '$ep', root complex '$rc'"
		fail=1
	fi
	rm -f "$kit.tmp/.check.dtb"
done

# Drivers for the endpoint's dependencies, in this kernel.
echo "# drivers for the endpoint node's dependencies and the console:"
python3 "$repo/platform/rcar/drivers.py" "$work" "$out" \
	$(for b in $boards; do echo "$dts/$b-ep.dtb"; done) || fail=1

# Initramfs: Debian's static busybox for arm64, fetched once (keyed by its
# version), with the kit's /init and the setup script.
apt_arm64=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
	-o Dir::State::Lists="$dl/lists" -o Dir::Cache="$dl/cache"
	-o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
if ! ls "$dl"/busybox-static_*_arm64.deb >/dev/null 2>&1; then
	mkdir -p "$dl/lists/partial" "$dl/cache/archives/partial"
	apt-get "${apt_arm64[@]}" -qq update
	(cd "$dl" && apt-get "${apt_arm64[@]}" -qq download busybox-static:arm64)
fi
deb=$(ls "$dl"/busybox-static_*_arm64.deb | tail -1)
stage=$kit.tmp/.initramfs
mkdir -p "$stage"/{bin,sbin,proc,sys,dev,tmp,etc}
dpkg-deb -x "$deb" "$stage/.deb"
bb=$(ls "$stage/.deb/usr/bin/busybox" "$stage/.deb/bin/busybox" 2>/dev/null | head -1 || true)
[ -n "$bb" ] || { echo "not ok no busybox in $deb"; exit 1; }
mv "$bb" "$stage/bin/busybox"
rm -rf "$stage/.deb"
# e_machine of the ELF header: 183 (0xb7), EM_AARCH64
[ "$(od -An -tu2 -j18 -N2 "$stage/bin/busybox" | tr -d ' ')" = 183 ] ||
	{ echo "not ok busybox is not an arm64 executable"; fail=1; }
install -m 0755 "$repo/platform/rcar/init" "$stage/init"
install -m 0755 "$repo/platform/initramfs/ep-function" "$stage/bin/ep-function"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -9 >"$kit.tmp/initramfs.cpio.gz"
rm -rf "$stage"
echo "ok initramfs: $(basename "$deb" .deb), /init, /bin/ep-function"

(cd "$kit.tmp" && sha256sum -- * >SHA256SUMS)
rm -rf "$kit"
mv "$kit.tmp" "$kit"
exit $fail
