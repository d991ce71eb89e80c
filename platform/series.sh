#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The project as a patch series for another tree.  Runs on the host, called
# by ep.sh once the work tree is assembled:
#   series.sh SRC WORK         `make series`: write series/, git format-patch
#                              style patches against the pristine SRC that
#                              together give WORK on every file the repository
#                              adds or patches, and a cover letter
#   series.sh SRC WORK check   `make series-check`: git am series/ on a fresh
#                              checkout of SRC and checkpatch --strict each
#                              patch; with SERIES_BUILD=1 also build after each
#                              patch (SERIES_VARIANTS, default "um rcar")
# The order of the series and the patches of new files are in
# platform/series.map; the git work is platform/series-git.sh, inside the
# build root.  The author is `git config user.name/user.email` of this
# repository, the date of the commits that of its HEAD commit, so that an
# unchanged repository gives the same series.
. "$(dirname "$0")/lib.sh"
src=$1 work=$2 mode=${3:-make}
case $mode in
make) label="make series" ;;
check) label="make series-check" ;;
*) die "usage: series.sh SRC WORK [check]" ;;
esac

name=$(git -C "$REPO_DIR" config user.name) || die "git config user.name is not set: it is the author of the series"
email=$(git -C "$REPO_DIR" config user.email) || die "git config user.email is not set: it is the author of the series"
date=$(git -C "$REPO_DIR" log -1 --format=%cI 2>/dev/null) || date=$(date -Iseconds)

t0=$SECONDS
in_root /usr/bin/env SERIES_NAME="$name" SERIES_EMAIL="$email" SERIES_DATE="$date" \
	SERIES_BUILD="${SERIES_BUILD:-0}" SERIES_VARIANTS="${SERIES_VARIANTS:-um rcar}" \
	/bin/bash "$PLATFORM_DIR/series-git.sh" "$mode" "$REPO_DIR" "$src" "$work" &
progress_wait $! "$label" || die "$label failed"
log "$label: done in $(elapsed $t0)"
