#!/usr/bin/env bash
# The seed's probe as its documentation describes it, for comparison only:
# a numeric pid in <rundir>/<unit>/pid, /proc/<pid> exists, error is "0",
# read the usual way, with `cat` in command substitutions.
rundir=${CIC_RUNDIR:-/run}
unit=${CIC_UNIT:-$HOSTNAME}
pid=$(cat "$rundir/$unit/pid") || exit 1
[[ $pid =~ ^[0-9]+$ ]] || exit 1
[ -d "/proc/$pid" ] || exit 1
error=$(cat "$rundir/$unit/error") || exit 1
[ "$error" -gt 0 ] && exit 1
exit 0
