#!/bin/sh
# SPDX-License-Identifier: MIT
# Run CMD with the kernel running ARCH binaries (aarch64, riscv64) through
# qemu-user (binfmt_misc), so that tests which exec other test programs
# work under emulation; then leave the system as found: the qemu-ARCH
# entry removed if this script registered it, binfmt_misc unmounted if
# this script mounted it. Where ARCH binaries already run, nothing is
# touched (no mount, no registration). Needs root and Debian's
# qemu-user-binfmt otherwise.   qemu-binfmt.sh ARCH CMD [ARGS]
arch=$1
shift
conf=/usr/lib/binfmt.d/qemu-$arch.conf
dir=/proc/sys/fs/binfmt_misc
mounted=0 registered=0

restore() {
	[ $registered = 1 ] && echo -1 > $dir/qemu-$arch
	[ $mounted = 1 ] && umount $dir
}

if [ ! -e $dir/qemu-$arch ]; then
	if [ ! -e $dir/register ]; then
		mount -t binfmt_misc binfmt_misc $dir 2>/dev/null || {
			echo "qemu-binfmt: cannot mount binfmt_misc (root needed)" >&2
			exit 1
		}
		mounted=1
	fi
	if [ ! -e $dir/qemu-$arch ]; then
		if [ ! -r $conf ]; then
			echo "qemu-binfmt: $conf missing (qemu-user-binfmt)" >&2
			restore
			exit 1
		fi
		if ! grep -v '^#' $conf > $dir/register; then
			echo "qemu-binfmt: cannot register qemu-$arch (root needed)" >&2
			restore
			exit 1
		fi
		registered=1
	fi
fi
trap 'restore; exit 130' INT TERM
"$@"
status=$?
restore
exit $status
