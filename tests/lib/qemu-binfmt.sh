#!/bin/sh
# SPDX-License-Identifier: MIT
# Let the kernel run foreign binaries through qemu-user (binfmt_misc), so
# that tests which exec other test programs work under emulation. Needs
# root and Debian's qemu-user-binfmt. Usage: qemu-binfmt.sh [ARCH], ARCH
# a qemu target (aarch64 by default, riscv64). Exits 0 when its binaries
# run.
arch=${1:-aarch64}
conf=/usr/lib/binfmt.d/qemu-$arch.conf
dir=/proc/sys/fs/binfmt_misc
[ -e $dir/qemu-$arch ] && exit 0
if [ ! -e $dir/register ]; then
	mount -t binfmt_misc binfmt_misc $dir 2>/dev/null || {
		echo "qemu-binfmt: cannot mount binfmt_misc (root needed)" >&2
		exit 1
	}
fi
[ -e $dir/qemu-$arch ] && exit 0
[ -r $conf ] || { echo "qemu-binfmt: $conf missing (qemu-user-binfmt)" >&2; exit 1; }
grep -v '^#' $conf > $dir/register || {
	echo "qemu-binfmt: cannot register qemu-$arch (root needed)" >&2
	exit 1
}
