#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Figures of `make soak` from the console logs of its boots, as TAP
# comments: for each boot of MATRIX that must pass (the Rust port), its
# totals (the fuzzer's, or the life cycle soak's cycles, interrupt, slab and
# kmemleak figures); for the expected failures (the C seeds), the failures
# each reached.
# Usage: soak-summary.sh MATRIX LOGDIR
set -uo pipefail
matrix=$1 logs=$2
. "$(dirname "$0")/matrix.sh"
boots=$(matrix_read "$matrix") || exit 1

n=0 epfs=""
: >"$logs/soak-c.causes"
while read -r name script _ expect args; do
	f=$logs/$name.log
	[ -n "$name" ] && [ -f "$f" ] || continue
	epf=$(printf '%s\n' $args | sed -n 's/^epf=//p')
	if [ "$script" = epf-lifecycle ]; then
		# Its totals line, then the checks of each batch
		l=$(grep -h '^# lifecycle: ' "$f" | sed 's/^# lifecycle: //')
		echo "# soak: $name: ${l:-no totals (the boot did not finish)}"
		grep -h '^ *\(not \)*ok .*batch [0-9]*: \(interrupts\|slab\|kmemleak\)' "$f" |
			sed 's/^ *\(not ok\|ok\) [0-9]* /#   \1 /'
		continue
	fi
	if [ "$expect" = pass ]; then
		echo "# soak: ${epf:-$name}: $(grep -h '^# totals: ' "$f" | sed 's/^# totals: //')"
		grep -h '^ok .*fuzz \|^not ok .*fuzz \|console: ' "$f" | sed 's/^/#   /'
		continue
	fi
	n=$((n + 1))
	case " $epfs " in *" $epf "*) ;; *) epfs="$epfs${epfs:+ }$epf" ;; esac
	# Causes the fuzzer reported, and what the kernel reported
	c=$(grep -o '([a-z-]*)$' "$f" | tr -d '()' | sort -u)
	grep -q 'Segfault\|segfault' "$f" && c="$c Segfault"
	grep -q 'UBSAN:' "$f" && c="$c UBSAN"
	grep -q 'WARNING:' "$f" && c="$c WARNING"
	grep -q 'KASAN:' "$f" && c="$c KASAN"
	grep -q 'unreferenced object' "$f" && c="$c kmemleak"
	c=$(echo $c | tr ' ' '\n' | sort -u | paste -sd' ' -)
	first=$(grep -m1 -E '^# command [0-9]+: .*\([a-z-]+\)$|Segfault|segfault|UBSAN:|WARNING:|KASAN:' "$f")
	echo "# soak: ${epf:-?} $name: ${c:-nothing failed}; first: ${first:-none}"
	echo "$c" | tr ' ' '\n' | sed '/^$/d' >>"$logs/soak-c.causes"
done <<<"$boots"
[ $n = 0 ] && exit 0
echo "# soak: expected failures ($epfs), $n seeds; seeds reaching each failure:" \
	"$(sort "$logs/soak-c.causes" | uniq -c | awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')"
