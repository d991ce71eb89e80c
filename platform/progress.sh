# SPDX-License-Identifier: GPL-2.0
# Progress lines of the platform scripts.  Sourced, not executed.

# Progress of long steps: on a terminal (stderr), or with EPDB_PROGRESS=1, a
# line every EPDB_PROGRESS_SECS (20) seconds; otherwise (CI, a log file)
# nothing but the line each step prints when it is done.  EPDB_PROGRESS=0
# turns it off.
interactive() {
	case ${EPDB_PROGRESS:-} in 1) return 0 ;; 0) return 1 ;; esac
	[ -t 2 ]
}

# elapsed T0: the time since $SECONDS was T0, as "M min S s" or "S s".
elapsed() {
	local s=$((SECONDS - $1))
	if [ $s -ge 60 ]; then echo "$((s / 60)) min $((s % 60)) s"; else echo "$s s"; fi
}

# progress_wait PID LABEL [STATUS-COMMAND]: wait for the background job PID
# and return its exit status; while it runs, when interactive, print
# "LABEL: ELAPSED, STATUS" every EPDB_PROGRESS_SECS seconds, STATUS being
# what STATUS-COMMAND prints (how much of the step is done).
progress_wait() {
	local pid=$1 label=$2 status=${3:-} t0=$SECONDS every=${EPDB_PROGRESS_SECS:-20} next
	if interactive; then
		next=$((t0 + every))
		while kill -0 "$pid" 2>/dev/null; do
			sleep 1
			[ $SECONDS -ge $next ] || continue
			printf '[%s] %s\n' "$(date +%H:%M:%S)" "$label: $(elapsed $t0)${status:+, $($status 2>/dev/null)}" >&2
			next=$((next + every))
		done
	fi
	wait "$pid"
}
