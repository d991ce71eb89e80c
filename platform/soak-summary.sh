#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Figures of `make soak` from the console logs of its boots, as TAP
# comments: the Rust totals, and for the C seeds the failures each reached.
# Usage: soak-summary.sh LOGDIR
logs=$1
for f in "$logs"/soak-rs.log; do
	[ -f "$f" ] || continue
	echo "# soak: pci_epf_test_rs: $(grep -h '^# totals: ' "$f" | sed 's/^# totals: //')"
	grep -h '^ok .*fuzz \|^not ok .*fuzz \|console: ' "$f" | sed 's/^/#   /'
done
n=0
: >"$logs/soak-c.causes"
for f in "$logs"/soak-c-*.log; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	s=$(basename "$f" .log)
	# Causes the fuzzer reported, and what the kernel reported
	c=$(grep -o '([a-z-]*)$' "$f" | tr -d '()' | sort -u)
	grep -q 'Segfault\|segfault' "$f" && c="$c Segfault"
	grep -q 'UBSAN:' "$f" && c="$c UBSAN"
	grep -q 'WARNING:' "$f" && c="$c WARNING"
	grep -q 'KASAN:' "$f" && c="$c KASAN"
	grep -q 'unreferenced object' "$f" && c="$c kmemleak"
	c=$(echo $c | tr ' ' '\n' | sort -u | paste -sd' ' -)
	first=$(grep -m1 -E '^# command [0-9]+: .*\([a-z-]+\)$|Segfault|segfault|UBSAN:|WARNING:|KASAN:' "$f")
	echo "# soak: C $s: ${c:-nothing failed}; first: ${first:-none}"
	echo "$c" | tr ' ' '\n' | sed '/^$/d' >>"$logs/soak-c.causes"
done
[ $n = 0 ] && exit 0
echo "# soak: C pci-epf-test, $n seeds; seeds reaching each failure:" \
	"$(sort "$logs/soak-c.causes" | uniq -c | awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')"
