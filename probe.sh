#!/bin/bash
# probe.sh: the liveness probe of @cic/liveness, for a Kubernetes exec probe
# or a Docker HEALTHCHECK, with nothing but bash (4 or later).
#
#   probe.sh [--unit NAME] [--rundir DIR]
#
# Reads the state the library writes in <rundir>/<unit>/ (pid, starttime,
# error), prints one short line saying why, and exits 0 when the unit is
# healthy, 1 when it is not and on bad usage (Docker reserves 2).
#
# It starts no process: builtins only (no $(...), no pipes, no here-strings,
# no temporary files), so it is cheap, works on a read-only root file system
# and cannot hang on a missing command. It gives the same verdicts and lines
# as src/_probe.ts (the liveness-probe command): keep the two in step;
# tests/probe_cases.json runs both.

set -u
# Bytes, not characters: ${#var}, read -n and [...] ranges below count bytes.
LC_ALL=C

# As STATE_MAX_BYTES in src/_state.ts: any valid state fits many times over.
readonly MAX_BYTES=32
# The kernel's PID_MAX_LIMIT, where /proc/sys/kernel/pid_max does not say.
readonly PID_MAX_FALLBACK=4194304
# The numbers the library writes: canonical decimal, '-' only for an error.
readonly UNSIGNED='^(0|[1-9][0-9]*)$'
readonly SIGNED='^(0|-?[1-9][0-9]*)$'

usage() {
  printf '%s\n' \
    "Usage: ${0##*/} [--unit NAME] [--rundir DIR]" \
    '' \
    'Tells whether the unit whose state is in <rundir>/<unit>/ is alive and' \
    'healthy. Prints one line saying why; exits 0 when healthy, 1 when not.' \
    '' \
    "  --unit NAME   the unit (default: \$LIVENESS_UNIT_NAME, \$CIC_UNIT, the host name)" \
    '  --rundir DIR  the absolute directory of unit directories' \
    "                (default: \$LIVENESS_RUNDIR, \$CIC_RUNDIR, /run)" \
    '  -h, --help    print this help and exit'
}

# Prints the line and exits: 0 with "healthy", 1 with anything else.
verdict() {
  printf '%s\n' "$2"
  exit "$1"
}

# Sets $shown to $1 safe for one line of a log: each byte outside printable
# ASCII becomes '?', and at most $2 bytes are kept.
show() {
  shown=${1//[! -~]/?}
  shown=${shown:0:$2}
}

bad_usage() {
  verdict 1 "bad usage: $1 (try --help)"
}

# Reads the number in <dir>/$1 ($2: the pattern it must match) into $value.
# Sets $problem to "missing" when there is no such file, else to what is
# wrong with it, else to ''.
read_number() {
  local name=$1 pattern=$2 file=$dir/$1 text=''
  value='' problem=''
  if [[ ! -e $file ]]; then
    problem=missing
  elif [[ ! -f $file ]]; then
    # Never open a FIFO: that would wait for a writer.
    problem="$name file is not a regular file"
  elif [[ ! -r $file ]]; then
    problem="$name file is not readable"
  # read succeeds only when it stops before the end of the file: at a NUL
  # byte, or after MAX_BYTES + 1 bytes. Either way there is no number.
  elif IFS= read -r -d '' -n "$((MAX_BYTES + 1))" text 2>/dev/null <"$file"; then
    problem="$name file is not a number"
  else
    text=${text%$'\n'}
    if [[ -z $text ]]; then
      problem="$name file is empty"
    elif [[ $text =~ $pattern ]]; then
      value=$text
    else
      problem="$name file is not a number"
    fi
  fi
}

# The command line, left to right: the first --help or problem ends it, and a
# later flag wins over an earlier one.
unit_flag='' rundir_flag='' has_unit_flag=0 has_rundir_flag=0
while (($# > 0)); do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --help=*) bad_usage '--help takes no value' ;;
    --unit | --rundir)
      (($# >= 2)) || bad_usage "$1 needs a value"
      if [[ $1 == --unit ]]; then
        unit_flag=$2 has_unit_flag=1
      else
        rundir_flag=$2 has_rundir_flag=1
      fi
      shift
      ;;
    --unit=*) unit_flag=${1#*=} has_unit_flag=1 ;;
    --rundir=*) rundir_flag=${1#*=} has_rundir_flag=1 ;;
    --)
      shift
      if (($# > 0)); then
        show "$1" 64
        bad_usage "unexpected argument '$shown'"
      fi
      break
      ;;
    -?*)
      show "${1%%=*}" 64
      bad_usage "unknown option '$shown'"
      ;;
    *)
      show "$1" 64
      bad_usage "unexpected argument '$shown'"
      ;;
  esac
  shift
done

# The location, as resolveLocation() in src/_location.ts finds and checks it:
# the flag, else the first non-empty variable, else the default; the unit
# first.
if ((has_unit_flag)); then
  unit=$unit_flag source=--unit
elif [[ -n ${LIVENESS_UNIT_NAME:-} ]]; then
  unit=$LIVENESS_UNIT_NAME source="\$LIVENESS_UNIT_NAME"
elif [[ -n ${CIC_UNIT:-} ]]; then
  unit=$CIC_UNIT source="\$CIC_UNIT"
else
  # gethostname(), as the runtimes read it; $HOSTNAME may come from outside.
  IFS= read -r unit 2>/dev/null </proc/sys/kernel/hostname || unit=${HOSTNAME:-}
  source='the host name'
fi
if [[ -z $unit ]]; then
  problem='is empty'
elif [[ $unit == */* ]]; then
  problem="contains '/'"
elif [[ $unit == .* ]]; then
  problem="starts with '.'"
elif ((${#unit} > 255)); then
  problem='is longer than 255 bytes'
else
  problem=''
fi
# (A NUL byte, the other thing a unit must not hold, cannot reach bash.)
[[ -z $problem ]] || verdict 1 "invalid unit name from $source: $problem"

if ((has_rundir_flag)); then
  rundir=$rundir_flag source=--rundir
elif [[ -n ${LIVENESS_RUNDIR:-} ]]; then
  rundir=$LIVENESS_RUNDIR source="\$LIVENESS_RUNDIR"
elif [[ -n ${CIC_RUNDIR:-} ]]; then
  rundir=$CIC_RUNDIR source="\$CIC_RUNDIR"
else
  rundir=/run source=default
fi
[[ $rundir == /* ]] || verdict 1 "invalid rundir from $source: is not an absolute path (the probe runs in another working directory)"

while [[ $rundir == */ ]]; do rundir=${rundir%/}; done
dir=$rundir/$unit
show "$unit" 255
label="unit $shown"

# 1. The pid file holds a pid: 1 to below pid_max.
read_number pid "$UNSIGNED"
[[ $problem == missing ]] && verdict 1 "$label: no pid file"
[[ -z $problem ]] || verdict 1 "$label: $problem"
pid=$value
pid_max=$PID_MAX_FALLBACK
if IFS= read -r text 2>/dev/null </proc/sys/kernel/pid_max && [[ $text =~ ^[1-9][0-9]*$ ]]; then
  pid_max=$text
fi
limit=$((pid_max - 1))
# Compare lengths first: a long number would overflow bash's arithmetic.
if ((${#pid} > ${#limit})) || ((pid < 1 || pid > limit)); then
  verdict 1 "$label: pid $pid is out of range (1 to $limit)"
fi

# 2. That pid is a live process: /proc/<pid> also answers for a thread id,
# whose Tgid is its process's; a zombie's state is Z (or X).
tgid=''
while IFS= read -r line; do
  if [[ $line == Tgid:* ]]; then
    tgid=${line#Tgid:}
    tgid=${tgid//[[:space:]]/}
    break
  fi
done 2>/dev/null <"/proc/$pid/status"
[[ -n $tgid ]] || verdict 1 "$label: pid $pid is not running"
[[ $tgid == "$pid" ]] || verdict 1 "$label: pid $pid is a thread of process $tgid"
line=''
IFS= read -r line 2>/dev/null <"/proc/$pid/stat"
# Fields count from after the last ')': the command name may hold spaces
# and parentheses. The state is field 3, the start time field 22.
rest=${line##*)}
rest=${rest# }
state=${rest%% *}
for ((field = 3; field < 22; field++)); do rest=${rest#* }; done
starttime=${rest%% *}
if [[ -z $line || -z $state || ! $starttime =~ ^[0-9]+$ ]]; then
  verdict 1 "$label: pid $pid is not running"
fi
[[ $state == [ZX] ]] && verdict 1 "$label: pid $pid is a zombie"

# 3. Where the writer recorded its start time (the seed did not), it is this
# process's: else the pid is a later process's, such as a new pid 1.
read_number starttime "$UNSIGNED"
if [[ $problem != missing ]]; then
  [[ -z $problem ]] || verdict 1 "$label: $problem"
  [[ $value == "$starttime" ]] || verdict 1 "$label: state is from an earlier process with pid $pid"
fi

# 4. The error code is 0.
read_number error "$SIGNED"
[[ $problem == missing ]] && verdict 1 "$label: no error file"
[[ -z $problem ]] || verdict 1 "$label: $problem"
[[ $value == 0 ]] || verdict 1 "$label: error $value"
verdict 0 "$label: healthy (pid $pid)"
