# SPDX-License-Identifier: GPL-2.0
# The reader of the boot matrices (platform/matrix, platform/matrix.soak;
# the format is in their header), for run-tests.sh, ep.sh and
# soak-summary.sh.  Sourced, not executed.

# matrix_read FILE: the boots of FILE, one line each, comments and blank
# lines left out: "NAME SCRIPT LIMIT EXPECT KERNEL-ARGUMENTS...", the fields
# separated by single blanks.  A malformed line (wrong name, limit or
# expectation, a runner directive among the kernel arguments) is named on
# stderr and makes the status 1; nothing is printed then.
matrix_read() {
	awk -v file="$1" '
	function bad(why) {
		printf "%s:%d: %s: %s\n", file, FNR, why, $0 >"/dev/stderr"
		err = 1
	}
	/^[ \t]*(#|$)/ { next }
	{
		if (NF < 4) { bad("needs NAME SCRIPT LIMIT EXPECT"); next }
		if ($1 !~ /^[a-z0-9][a-z0-9-]*$/) { bad("NAME is [a-z0-9-]"); next }
		if ($1 in seen) { bad("NAME " $1 " already on line " seen[$1]); next }
		seen[$1] = FNR
		if ($2 !~ /^[a-z0-9][a-z0-9-]*$/) { bad("SCRIPT is a name of platform/scenarios/"); next }
		if ($3 !~ /^[1-9][0-9]*$/) { bad("LIMIT is a number of seconds"); next }
		if ($4 != "pass" && $4 !~ /^fail:./) { bad("EXPECT is pass or fail:PATTERN"); next }
		for (i = 5; i <= NF; i++)
			if ($i ~ /^(expect|kernel|scenario)=/) { bad($i " is not a kernel argument here"); next }
		line = $1
		for (i = 2; i <= NF; i++) line = line " " $i
		out[++n] = line
	}
	END {
		if (err) exit 1
		for (i = 1; i <= n; i++) print out[i]
	}' "$1"
}

# matrix_names FILE: the names of the boots of FILE, one per line.
matrix_names() {
	local lines
	lines=$(matrix_read "$1") || return 1
	[ -z "$lines" ] || printf '%s\n' "$lines" | cut -d' ' -f1
}
