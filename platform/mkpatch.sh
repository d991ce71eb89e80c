#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Developer helper: write a kernel-style patch for the series from two trees,
# A (pristine copies of the touched files) and B (edited copies).
# Usage: mkpatch.sh A B OUT.patch "subsystem: subject" DESCRIPTION-FILE
set -euo pipefail
a=$1 b=$2 out=$3 subject=$4 desc=$5
name=$(git config user.name) email=$(git config user.email)
diff=$(cd "$(dirname "$a")" && diff -Nurp "$(basename "$a")" "$(basename "$b")" |
	sed -E "s#^--- $(basename "$a")/([^\t]*).*#--- a/\1#; s#^\+\+\+ $(basename "$b")/([^\t]*).*#+++ b/\1#;
		s#^diff -Nurp $(basename "$a")/(\S*) $(basename "$b")/(\S*)#diff --git a/\1 b/\2#") || true
{
	echo "From: $name <$email>"
	echo "Subject: [PATCH] $subject"
	echo
	cat "$desc"
	echo
	echo "Signed-off-by: $name <$email>"
	echo "---"
	printf '%s\n' "$diff" | git apply --stat
	echo
	printf '%s\n' "$diff"
	echo "-- "
	echo "2.47.3"
} >"$out"
