#!/bin/sh
# SPDX-License-Identifier: MIT
# The layers of src/ (README, Layout): services include only the public
# headers, the core's service interface (core/service.h) and src/sys/;
# backends never include a service; public headers never include a
# private one. Each rule is checked on the tree, and shown to catch a
# violation on a scratch copy of one file.
. "$(dirname "$0")/../lib/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)

# violations DIR ALLOWED-REGEX: the quoted includes under DIR that match
# no allowed path.
violations() {
	grep -rHn '^#include "' "$1" --include='*.c' --include='*.h' |
		grep -Ev "#include \"($2)\"" || true
}

svc_ok='core/service\.h|sys/sys\.h|arch/arch\.h|rcu_internal\.h|rseq_internal\.h'
bad=$(violations "$top/src/services" "$svc_ok")
[ -z "$bad" ]
ok $? "services include only core/service.h, sys/ and their own headers${bad:+: $bad}"

bad=$(grep -rHn '^#include "\(services\|preload\)/' "$top/src/backend" "$top/src/core" "$top/src/sys" || true)
[ -z "$bad" ]
ok $? "core, backends and sys include no service${bad:+: $bad}"

bad=$(grep -rHn '^#include "' "$top/include" || true)
[ -z "$bad" ]
ok $? "public headers include only public headers${bad:+: $bad}"

# The control: the first rule sees a backend header in a service.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/services"
sed '1a #include "backend/emul/emul.h"' "$top/src/services/fence.c" \
	>"$scratch/services/fence.c"
bad=$(violations "$scratch/services" "$svc_ok")
[ -n "$bad" ]
ok $? "control: a service including backend/emul/emul.h is caught"
done_testing
