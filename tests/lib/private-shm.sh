#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a command with a private, empty /dev/shm, so that tests never touch
# the machine's per-user registry (/dev/shm/libmembarrier-UID.v1) nor leave
# anything there: as root, in a private mount namespace (unshare -m) with
# its own tmpfs; otherwise (no namespaces) in the real /dev/shm, removing
# afterwards the registry file the command created.
#   sh tests/lib/private-shm.sh CMD...
if [ -z "${MEMBARRIER_PRIVATE_SHM:-}" ] && [ "$(id -u)" = 0 ] &&
   unshare -m true 2>/dev/null; then
	exec env MEMBARRIER_PRIVATE_SHM=1 unshare -m --propagation private \
		sh "$0" "$@"
fi
if [ "${MEMBARRIER_PRIVATE_SHM:-}" = 1 ]; then
	mount -t tmpfs -o mode=1777,size=16m tmpfs /dev/shm || exit 2
	MEMBARRIER_PRIVATE_SHM=2 exec "$@"
fi
reg=/dev/shm/libmembarrier-$(id -u).v1
[ -e "$reg" ] && existed=1 || existed=0
"$@"
status=$?
[ $existed = 0 ] && rm -f "$reg"
exit $status
