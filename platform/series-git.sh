#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The git side of `make series` and `make series-check`.  Runs inside the
# build root (its git, python3 and perl).  Usage:
#   series-git.sh make  REPO SRC WORK   write REPO/series/
#   series-git.sh check REPO SRC WORK   git am + checkpatch --strict of it
# SRC is the pristine linux-source-7.2 tree, WORK the work tree assembled
# from it (platform/assemble.sh; its .overlay lists the new files).
# Environment: SERIES_NAME, SERIES_EMAIL (author and sign-off), SERIES_DATE
# (date of the commits); for check, SERIES_BUILD=1 to build after each
# patch, SERIES_VARIANTS (um, rcar) the kernels to build.
#
# The pristine tree is imported into a git repository once per source
# version, $EPDB_CACHE/series/<version>/pristine.git, and never written
# again: the commits of a run go to a temporary repository that borrows
# its objects.
set -euo pipefail
mode=$1 repo=$2 src=$3 work=$4
ver=$(basename "$src")
cache=$EPDB_CACHE/series/$ver
pristine=$cache/pristine.git
map=$repo/platform/series.map
out=$repo/series

say() { echo "series: $*" >&2; }
fail() { echo "series: error: $*" >&2; exit 1; }

[ -n "${SERIES_NAME:-}" ] && [ -n "${SERIES_EMAIL:-}" ] || fail "no author (git config user.name/user.email)"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=$SERIES_NAME GIT_AUTHOR_EMAIL=$SERIES_EMAIL
export GIT_COMMITTER_NAME=$SERIES_NAME GIT_COMMITTER_EMAIL=$SERIES_EMAIL
export GIT_AUTHOR_DATE=${SERIES_DATE:-now} GIT_COMMITTER_DATE=${SERIES_DATE:-now}
signoff="Signed-off-by: $SERIES_NAME <$SERIES_EMAIL>"
[ -f "$work/.overlay" ] || fail "$work is not an assembled work tree (no .overlay)"

# The pristine tree as one commit, refs/heads/pristine.  Fixed identity and
# date, so that its id depends on the source only.
import_pristine() {
	[ -f "$pristine/epdb-complete" ] && return
	local tmp=$pristine.tmp t0=$SECONDS tree commit
	say "importing the pristine linux-source-7.2 $ver into git (once per source version)"
	rm -rf "$tmp"; mkdir -p "$cache"
	git init -q --bare "$tmp"
	git --git-dir="$tmp" config core.looseCompression 1
	GIT_DIR=$tmp GIT_WORK_TREE=$src GIT_INDEX_FILE=$tmp/epdb-index \
		git add -A -f -- . ':(exclude).complete'
	tree=$(GIT_DIR=$tmp GIT_INDEX_FILE=$tmp/epdb-index git write-tree)
	commit=$(GIT_DIR=$tmp GIT_AUTHOR_NAME=linux-source-7.2 GIT_AUTHOR_EMAIL= \
		GIT_COMMITTER_NAME=linux-source-7.2 GIT_COMMITTER_EMAIL= \
		GIT_AUTHOR_DATE=2000-01-01T00:00:00Z GIT_COMMITTER_DATE=2000-01-01T00:00:00Z \
		git commit-tree -m "Debian linux-source-7.2 $ver" "$tree")
	git --git-dir="$tmp" update-ref refs/heads/pristine "$commit"
	touch "$tmp/epdb-complete"
	mv "$tmp" "$pristine"
	say "pristine tree imported ($((SECONDS - t0)) s)"
}

# The entries of patches/series, in order.
series_patches() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$repo/patches/series"
}

# The paths a patch of patches/ touches.
patch_paths() {
	sed -n -e 's#^+++ b/\([^\t]*\).*#\1#p' -e 's#^--- a/\([^\t]*\).*#\1#p' "$1" | sort -u
}

# A tree: the pristine commit $1 with every file the repository adds or
# patches taken from the work tree, i.e. the assembled work tree on those
# paths and the pristine tree everywhere else.  Uses the current GIT_DIR.
work_tree_ref() {
	local base=$1 idx=$GIT_DIR/epdb-ref-index p
	{
		cat "$work/.overlay"
		series_patches | while read -r p; do patch_paths "$repo/patches/$p"; done
	} | sort -u >"$GIT_DIR/epdb-paths"
	GIT_INDEX_FILE=$idx git read-tree "$base"
	while read -r p; do
		if [ -L "$work/$p" ]; then
			fail "$work/$p is a symbolic link; the series has none"
		elif [ -f "$work/$p" ]; then
			printf '%s %s\t%s\n' "$([ -x "$work/$p" ] && echo 100755 || echo 100644)" \
				"$(git hash-object -w --no-filters -- "$work/$p")" "$p"
		else
			printf '0 %040d\t%s\n' 0 "$p"
		fi
	done <"$GIT_DIR/epdb-paths" | GIT_INDEX_FILE=$idx git update-index --index-info
	GIT_INDEX_FILE=$idx git write-tree
}

# ---- platform/series.map ----------------------------------------------------

declare -a kind=() title=() body=() files=()
parse_map() {
	local n=-1 lineno=0 line f
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case $line in
		'#'*) ;;
		'cover '*|'section '*|'patch '*|'group '*)
			n=$((n + 1))
			kind[n]=${line%% *} title[n]=${line#* } body[n]= files[n]=
			;;
		F:*)
			[ $n -ge 0 ] && [ "${kind[n]}" = group ] || fail "$map:$lineno: F: line outside a group"
			f=${line#F:}; f=${f#"${f%%[![:space:]]*}"}
			files[n]+="$f"$'\n'
			;;
		$'\t'*|'')
			if [ $n -ge 0 ]; then body[n]+="${line#$'\t'}"$'\n'
			elif [ -n "$line" ]; then fail "$map:$lineno: text before the first entry"; fi
			;;
		*) fail "$map:$lineno: not an entry, an F: line or indented text: $line" ;;
		esac
	done <"$map"
	[ $n -ge 0 ] || fail "$map has no entries"
}

# Text without its leading and trailing empty lines.
trim() { sed -e '/./,$!d' | sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}'; }

# The map must place every patch of patches/series once, and every new file
# of the repository in exactly one group.
check_map() {
	local i p covers=0 missing extra dup
	for i in "${!kind[@]}"; do
		case ${kind[i]} in
		cover) covers=$((covers + 1)) ;;
		patch)
			[ -f "$repo/patches/${title[i]}" ] || fail "$map: patch ${title[i]}: no such file in patches/"
			[ -z "$(printf '%s' "${body[i]}" | trim)" ] ||
				fail "$map: patch ${title[i]}: text under a patch entry (its description is the patch's own)"
			;;
		group)
			[ -n "${files[i]}" ] || fail "$map: group '${title[i]}' has no F: lines"
			[ -n "$(printf '%s' "${body[i]}" | trim)" ] || fail "$map: group '${title[i]}' has no description"
			;;
		esac
	done
	[ $covers = 1 ] || fail "$map: needs exactly one cover entry, has $covers"
	dup=$(for i in "${!kind[@]}"; do [ "${kind[i]}" = patch ] && echo "${title[i]}"; done | sort | uniq -d)
	[ -z "$dup" ] || fail "$map places these patches more than once: $dup"
	missing=$(comm -23 <(series_patches | sort) \
		<(for i in "${!kind[@]}"; do [ "${kind[i]}" = patch ] && echo "${title[i]}"; done | sort))
	[ -z "$missing" ] || fail "patches/series has patches that $map does not place:"$'\n'"$missing"
	extra=$(comm -13 <(series_patches | sort) \
		<(for i in "${!kind[@]}"; do [ "${kind[i]}" = patch ] && echo "${title[i]}"; done | sort))
	[ -z "$extra" ] || fail "$map places patches that are not in patches/series:"$'\n'"$extra"
	dup=$(printf '%s' "${files[@]}" | sort | uniq -d)
	[ -z "$dup" ] || fail "$map lists these files in more than one group:"$'\n'"$dup"
	missing=$(comm -23 <(sort -u "$work/.overlay") <(printf '%s' "${files[@]}" | sort -u))
	[ -z "$missing" ] ||
		fail "these new files are in no group of platform/series.map; add each to the group of the patch it belongs to:"$'\n'"$missing"
	extra=$(comm -13 <(sort -u "$work/.overlay") <(printf '%s' "${files[@]}" | sort -u))
	[ -z "$extra" ] || fail "$map lists files that the repository does not add:"$'\n'"$extra"
}

# The commit message of a patch of patches/: its subject and description,
# without its sign-off, which is the author's of this run instead.
patch_message() {
	awk -v signoff="$signoff" '
		!subj && /^Subject: / { sub(/^Subject: (\[[^]]*\] )?/, ""); s = $0; subj = 1; folded = 1; next }
		folded && /^[ \t]/ { sub(/^[ \t]+/, " "); s = s $0; next }
		{ folded = 0 }
		subj && !inbody && /^$/ { inbody = 1; next }
		inbody && /^---$/ { done = 1; exit }
		inbody { l[++n] = $0 }
		END {
			if (!subj || !done) exit 1
			while (n > 0 && (l[n] == "" || l[n] ~ /^Signed-off-by: /)) n--
			print s; print ""
			for (i = 1; i <= n; i++) print l[i]
			if (n > 0 && l[n] !~ /^[A-Za-z-]+: /) print ""
			print signoff
		}' "$1"
}

group_message() { # INDEX
	printf '%s\n\n' "${title[$1]}"
	printf '%s' "${body[$1]}" | trim
	printf '\n%s\n' "$signoff"
}

# ---- the cover letter ---------------------------------------------------------

# wrap FIRST-PREFIX NEXT-PREFIX: the words of stdin, filled to 72 columns.
wrap() {
	tr -s '[:space:]' ' ' | awk -v p1="$1" -v p2="$2" '{
		line = p1; empty = 1
		for (i = 1; i <= NF; i++) {
			if (!empty && length(line) + 1 + length($i) > 72) { print line; line = p2; empty = 1 }
			line = line (empty ? "" : " ") $i; empty = 0
		}
		if (!empty) print line
	}'
}

strip() { printf '%s' "$1" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

readme_flat() { tr -s '[:space:]' ' ' <"$repo/README.md"; }

# The "## Times" section of README.md: its text, then one item per table row.
readme_times() {
	local rows
	rows=$(awk '/^## Times/ { p = 1; next } p && /^## / { exit } p' "$repo/README.md")
	[ -n "$rows" ] || fail "README.md has no \"## Times\" section for the cover letter"
	printf '%s\n' "$rows" | grep -v -e '^|' -e '^[[:space:]]*$' | wrap "" ""
	printf '%s\n' "$rows" | grep '^|' | grep -v -e '^|[-| :]*$' | tail -n +2 |
		while IFS= read -r row; do
			row=${row#|}; row=${row%|}
			printf '%s: %s\n' "$(strip "${row%%|*}")" "$(strip "${row#*|}")" | wrap "- " "  "
		done
}

# The cover text of the map, with its placeholders and quotes resolved.
# $1: index of the cover entry; $2: file of "first last title<TAB>summary"
# lines, one per section.
cover_text() {
	local text=${body[$1]} sections=$2 count=$3 line quote="" flat
	flat=$(readme_flat)
	flush_quote() {
		[ -n "$quote" ] || return 0
		local q
		q=$(printf '%s' "$quote" | sed 's/^> //' | tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//')
		case $flat in
		*"$q"*) printf '%s' "$quote" ;;
		*) fail "$map: the cover letter quotes README.md, but README.md does not say: $q" ;;
		esac
		quote=""
	}
	while IFS= read -r line; do
		case $line in
		'> '*) quote+="$line"$'\n'; continue ;;
		esac
		flush_quote
		case $line in
		@sections)
			while IFS=$'\t' read -r range summary; do
				printf '%s: %s\n' "$range" "$summary" | wrap "- " "  "
			done <"$sections"
			;;
		@times) readme_times ;;
		*) line=${line//@VERSION@/$ver}; printf '%s\n' "${line//@COUNT@/$count}" ;;
		esac
	done < <(printf '%s' "$text" | trim)
	flush_quote
}

# ---- make --------------------------------------------------------------------

make_series() {
	local t0=$SECONDS base prev c p i f n=0 cur tree ref cover=-1 sections
	local -A orig=()
	parse_map; check_map
	import_pristine
	tmp=$(mktemp -d "$cache/make.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT	# tmp is global: the trap runs after the function returned
	export GIT_DIR=$tmp/g.git GIT_INDEX_FILE=$tmp/index
	git init -q --bare "$GIT_DIR"
	echo "$pristine/objects" >"$GIT_DIR/objects/info/alternates"
	# The kernel's diff drivers, for the function names in the hunk headers.
	[ ! -f "$src/.gitattributes" ] || cp "$src/.gitattributes" "$GIT_DIR/info/attributes"
	base=$(git --git-dir="$pristine" rev-parse refs/heads/pristine)

	# patches/series in its own order, where each patch applies as it is.
	git read-tree "$base"
	prev=$base
	while read -r p; do
		git apply --cached "$repo/patches/$p" 2>"$tmp/apply.log" ||
			{ cat "$tmp/apply.log" >&2; fail "patches/$p does not apply with git apply after the patches before it in patches/series"; }
		c=$(git commit-tree -p "$prev" -m "$p" "$(git write-tree)")
		orig[$p]=$c prev=$c
	done < <(series_patches)

	# What the files of each patch are at its place in the map
	# (series-weave.py: the map may swap patches that change one file).
	{
		while read -r p; do echo "$p ${orig[$p]}"; done < <(series_patches)
		echo --
		for i in "${!kind[@]}"; do [ "${kind[i]}" = patch ] && echo "${title[i]}"; done
	} | python3 "$repo/platform/series-weave.py" "$base" >"$tmp/weave"
	mkdir "$tmp/files"
	awk -v d="$tmp/files" '/^= / { f = d "/" substr($0, 3); printf "" >f; next } { print >>f }' "$tmp/weave"

	# The series in the order of the map.
	cur=$base sections=$tmp/sections
	: >"$sections"
	for i in "${!kind[@]}"; do
		case ${kind[i]} in
		cover) cover=$i; continue ;;
		section)
			printf '%s\t%s\n' "${title[i]}" "$(printf '%s' "${body[i]}" | tr -s '[:space:]' ' ')" >>"$sections"
			echo "@start $((n + 1))" >>"$sections"
			continue
			;;
		patch)
			p=${title[i]}
			git read-tree "$cur"
			git update-index --index-info <"$tmp/files/$p"
			tree=$(git write-tree)
			patch_message "$repo/patches/$p" >"$tmp/msg" || fail "patches/$p: no Subject: line or no --- line"
			;;
		group)
			git read-tree "$cur"
			while read -r f; do
				[ -f "$repo/$f" ] || fail "$map: $f: no such file"
				printf '%s %s\t%s\n' "$([ -x "$repo/$f" ] && echo 100755 || echo 100644)" \
					"$(git hash-object -w --no-filters -- "$repo/$f")" "$f"
			done < <(printf '%s' "${files[i]}") | git update-index --index-info
			tree=$(git write-tree)
			group_message "$i" >"$tmp/msg"
			;;
		esac
		[ "$tree" != "$(git rev-parse "$cur^{tree}")" ] || fail "$map: '${title[i]}' changes nothing"
		cur=$(git commit-tree -p "$cur" -F "$tmp/msg" "$tree")
		n=$((n + 1))
	done

	# Together, the patches give exactly the assembled work tree.
	ref=$(work_tree_ref "$base")
	if [ "$(git rev-parse "$cur^{tree}")" != "$ref" ]; then
		git diff --stat "$ref" "$cur" >&2
		fail "the series does not give the assembled work tree $work (differences above)"
	fi

	# Section ranges for the cover letter.
	awk -v last="$n" -F '\t' '
		/^@start / { split($0, a, " "); start[k] = a[2]; next }
		{ k++; t[k] = $1; s[k] = $2 }
		END {
			for (i = 1; i <= k; i++) {
				e = (i < k ? start[i + 1] - 1 : last)
				r = (start[i] == e ? "patch " start[i] : "patches " start[i] "-" e)
				printf "%s (%s)\t%s\n", t[i], r, s[i]
			}
		}' "$sections" >"$sections.ranges"

	git format-patch -q -o "$tmp/out" --cover-letter --numbered "$base..$cur"
	cover_text "$cover" "$sections.ranges" "$n" >"$tmp/blurb"
	awk -v subject="${title[cover]}" -v blurb="$tmp/blurb" '
		/\*\*\* SUBJECT HERE \*\*\*/ { sub(/\*\*\* SUBJECT HERE \*\*\*/, subject) }
		/^\*\*\* BLURB HERE \*\*\*$/ { while ((getline l < blurb) > 0) print l; next }
		{ print }' "$tmp/out/0000-cover-letter.patch" >"$tmp/cover"
	mv "$tmp/cover" "$tmp/out/0000-cover-letter.patch"

	rm -rf "$out"
	mkdir -p "$out"
	cp "$tmp/out/"*.patch "$out/"
	say "wrote series/: cover letter and $n patches against linux-source-7.2 $ver" \
		"($((SECONDS - t0)) s; they give the assembled work tree exactly)"
	(cd "$out" && ls) >&2
}

# ---- check -------------------------------------------------------------------

# variant NAME: arch, config fragments and make targets of a kernel, as in
# ep.sh's build().
variant() {
	local cfg=$repo/platform/configs
	case $1 in
	um) arch=um frags=("$cfg/um.config" "$cfg/checkers.config") targets=() ;;
	rcar) arch=arm64 frags=("$cfg/rcar.config") targets=(Image) ;;
	*) fail "SERIES_VARIANTS: unknown kernel $1 (um, rcar)" ;;
	esac
}

# SERIES_BUILD=1: build each variant at the current commit of $tree.
build_here() { # NUMBER FIRST(1|0)
	local num=$1 first=$2 v o arch frags targets base t0
	for v in ${SERIES_VARIANTS:-um rcar}; do
		variant "$v"
		o=$EPDB_CACHE/build/$ver/series-$v t0=$SECONDS
		mkdir -p "$o"
		mk() { make -s -C "$tree" O="$o" ARCH="$arch" LLVM=1 "$@"; }
		{
			# Configure at the first patch, and again after each patch that
			# touches a Kconfig file: symbols of the fragments that a patch
			# introduces take effect from that patch on.
			if [ "$first" = 1 ] || git diff --name-only HEAD^ HEAD | grep -q 'Kconfig'; then
				base=$(cat "${frags[@]}" | sed -n 's/^# base=\([a-z_]*config\)$/\1/p' | tail -1)
				mk "${base:-defconfig}" &&
					(cd "$tree" && ARCH=$arch LLVM=1 scripts/kconfig/merge_config.sh -m -O "$o" \
						"$o/.config" "${frags[@]}") &&
					mk olddefconfig
			fi && mk -j"$(nproc)" "${targets[@]}"
		} >"$o/build-$num.log" 2>&1 ||
			{ tail -20 "$o/build-$num.log" >&2
			  fail "the first patch that does not build ($v) is $num: $(git log -1 --format=%s)" \
				"(log: $o/build-$num.log, tree kept in $tree)"; }
		say "$num builds ($v, $((SECONDS - t0)) s)"
	done
}

check_series() {
	local t0=$SECONDS p ps=() name log types msg base ref first=1 c k=0 v arch frags targets
	local errors=0 warnings=0 checks=0 answered=0 titles maint f s secs
	[ -f "$out/0000-cover-letter.patch" ] || fail "no series/: run make series first"
	for p in "$out"/[0-9][0-9][0-9][0-9]-*.patch; do
		[ "$(basename "$p")" = 0000-cover-letter.patch ] || ps+=("$p")
	done
	[ ${#ps[@]} -gt 0 ] || fail "series/ has no patches"
	if [ "${SERIES_BUILD:-0}" = 1 ]; then
		for v in ${SERIES_VARIANTS:-um rcar}; do variant "$v"; done
	fi
	import_pristine
	tree=$cache/check
	rm -rf "$tree"
	say "git am of ${#ps[@]} patches on a fresh checkout of the pristine tree"
	git clone -q --shared --branch pristine "$pristine" "$tree"
	cd "$tree"
	base=$(git rev-parse HEAD)
	for p in "${ps[@]}"; do
		if ! git am -q --whitespace=error "$p" >"$cache/am.log" 2>&1; then
			cat "$cache/am.log" >&2
			fail "$(basename "$p") does not apply with git am (tree kept in $tree)"
		fi
	done
	ref=$(GIT_DIR=$tree/.git work_tree_ref "$base")
	[ "$(git rev-parse HEAD^{tree})" = "$ref" ] ||
		{ git diff --stat "$ref" HEAD >&2; fail "series/ does not give the assembled work tree (run make series)"; }
	say "all ${#ps[@]} patches apply with git am, and give the assembled work tree"

	# The MAINTAINERS entries the series adds, to answer checkpatch's
	# "does MAINTAINERS need updating?" for a patch that adds files.
	titles=$(cat "${ps[@]}" | awk '
		/^diff --git / { m = ($3 == "a/MAINTAINERS") }
		m && /^\+[^+:]/ && !/^\+[A-Z]:\t/ { print substr($0, 2) }')
	maint=$(grep -l '^diff --git a/MAINTAINERS ' "${ps[@]}" | xargs -r -n1 basename | cut -c1-4 | paste -sd, -)

	say "checkpatch.pl --strict on each patch (scripts/ of $work)"
	for p in "${ps[@]}"; do
		name=$(basename "$p")
		log=$(cd "$work" && perl scripts/checkpatch.pl --strict --show-types --no-summary "$p" || true)
		types=$(printf '%s\n' "$log" | sed -n 's/^\(ERROR\|WARNING\|CHECK\):\([A-Z0-9_]*\):.*/\1:\2/p')
		msg=""
		if printf '%s\n' "$types" | grep -qx 'WARNING:FILE_PATH_CHANGES'; then
			# Answered if the series' MAINTAINERS entries cover every file
			# the patch adds.
			secs=""
			while read -r f; do
				s=$(cd "$work" && perl scripts/get_maintainer.pl --no-git --no-git-fallback --sections -f "$f" |
					grep -v -e '^[A-Z]:' -e '^$' | grep -Fx -f <(printf '%s\n' "$titles") | head -1 || true)
				[ -n "$s" ] || { secs=""; msg="$f is in no MAINTAINERS entry of the series"; break; }
				secs+="$s"$'\n'
			done < <(awk '/^diff --git / { f = substr($4, 3) } /^new file mode / { print f }' "$p")
			if [ -n "$secs" ]; then
				answered=$((answered + 1))
				types=$(printf '%s\n' "$types" | grep -vx 'WARNING:FILE_PATH_CHANGES' || true)
				msg="WARNING:FILE_PATH_CHANGES \"does MAINTAINERS need updating?\", answered by $maint:"
				msg+=" every file it adds is in $(printf '%s' "$secs" | sort -u | paste -sd, - | sed 's/,/, /g')"
			fi
		fi
		errors=$((errors + $(printf '%s\n' "$types" | grep -c '^ERROR:' || true)))
		warnings=$((warnings + $(printf '%s\n' "$types" | grep -c '^WARNING:' || true)))
		checks=$((checks + $(printf '%s\n' "$types" | grep -c '^CHECK:' || true)))
		if [ -n "$types" ]; then
			echo "$name:${msg:+ $msg; and}"
			printf '%s\n' "$log" | sed 's/^/  /'
		elif [ -n "$msg" ]; then
			echo "$name: only $msg"
		else
			echo "$name: no complaint"
		fi
	done
	say "checkpatch --strict on ${#ps[@]} patches: $errors errors, $warnings warnings, $checks checks," \
		"besides $answered WARNING:FILE_PATH_CHANGES on patches that add files, answered by $maint"
	[ $((errors + warnings + checks)) = 0 ] || fail "checkpatch --strict is not clean"

	if [ "${SERIES_BUILD:-0}" = 1 ]; then
		say "SERIES_BUILD=1: building ${SERIES_VARIANTS:-um rcar} after each patch"
		for c in $(git rev-list --reverse "$base..HEAD"); do
			k=$((k + 1))
			git checkout -q "$c"
			build_here "$(printf '%04d' $k)" "$first"
			first=0
		done
		say "every patch builds (${SERIES_VARIANTS:-um rcar})"
	fi
	cd /
	rm -rf "$tree" "$cache/am.log"
	say "series-check passed ($((SECONDS - t0)) s)"
}

case $mode in
make) make_series ;;
check) check_series ;;
*) fail "usage: series-git.sh make|check REPO SRC WORK" ;;
esac
