#!/bin/sh
# SPDX-License-Identifier: MIT
# The man page links: for each section 3 page given, one line
# "NAME PAGE" per function it documents, read from its SYNOPSIS (each
# declaration's name, the identifier before its first parenthesis) and
# its NAME line (the names without a wildcard), but the page's own name.
# make installs man3/NAME.3 holding ".so man3/PAGE".
for page in "$@"; do
	base=$(basename "$page")
	sed -n '/^\.SH NAME/,/^\.SH DESCRIPTION/p' "$page" | awk -v page="$base" '
		/^\.SH/ { section = $2; next }
		section == "NAME" && !described {
			# The names end at "\-"; the description may wrap.
			if (sub(/\\-.*/, ""))
				described = 1
			n = split($0, w, /[ ,]+/)
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^[A-Za-z_][A-Za-z0-9_]*$/)
					names[w[i]] = 1
		}
		section == "SYNOPSIS" && /^\.BI? / && !/#include/ {
			gsub(/"/, "")
			if (match($0, /[A-Za-z_][A-Za-z0-9_]*\(/))
				names[substr($0, RSTART, RLENGTH - 1)] = 1
		}
		END {
			self = page
			sub(/\.3$/, "", self)
			for (n in names)
				if (n != self)
					print n ".3", page
		}' | sort
done
