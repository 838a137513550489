#!/bin/bash -p
# probe.sh: the liveness probe of @cic/liveness, for a Kubernetes exec probe
# or a Docker HEALTHCHECK, with nothing but bash (4 or later).
#
#   probe.sh [--unit NAME] [--rundir DIR]
#
# Run it as a program (not as `bash probe.sh`): -p in the first line keeps
# the environment out of the script ($BASH_ENV, imported functions,
# $SHELLOPTS, $BASHOPTS).
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
# Linux's longest path, with its NUL.
readonly PATH_MAX=4096
# The kernel's PID_MAX_LIMIT, where /proc/sys/kernel/pid_max does not say.
readonly PID_MAX_FALLBACK=4194304
# The numbers the library writes: canonical decimal, '-' only for an error.
readonly UNSIGNED='^(0|[1-9][0-9]*)$'
readonly SIGNED='^(0|-?[1-9][0-9]*)$'
# The sequences of valid UTF-8 beyond ASCII (RFC 3629: no overlong form, no
# surrogate, nothing past U+10FFFF), as patterns of bytes. Each starts with a
# byte no other sequence holds, so they match only where a character starts.
readonly UTF8_SEQUENCES=(
  $'[\xc2-\xdf][\x80-\xbf]'
  $'\xe0[\xa0-\xbf][\x80-\xbf]'
  $'[\xe1-\xec\xee\xef][\x80-\xbf][\x80-\xbf]'
  $'\xed[\x80-\x9f][\x80-\xbf]'
  $'\xf0[\x90-\xbf][\x80-\xbf][\x80-\xbf]'
  $'[\xf1-\xf3][\x80-\xbf][\x80-\xbf][\x80-\xbf]'
  $'\xf4[\x80-\x8f][\x80-\xbf][\x80-\xbf]'
)
# U+FFFD, which the runtimes put where bytes are not UTF-8.
readonly REPLACEMENT=$'\xef\xbf\xbd'

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

# Whether $1 is text the runtimes read as it is: valid UTF-8 without U+FFFD
# (they cannot tell it from bytes that are not UTF-8). Each valid sequence
# becomes '.', in time linear in the length (a regex would take quadratic);
# no byte beyond ASCII may remain.
is_utf8() {
  local text=$1 sequence
  [[ $text == *[$'\x80'-$'\xff']* ]] || return 0
  [[ $text != *"$REPLACEMENT"* ]] || return 1
  for sequence in "${UTF8_SEQUENCES[@]}"; do
    text=${text//$sequence/.}
  done
  [[ $text != *[$'\x80'-$'\xff']* ]]
}

# Whether $1 ends with $2; in linear time, as [[ $1 == *"$2" ]] is not.
ends_with() {
  ((${#2} <= ${#1})) && [[ ${1:${#1}-${#2}} == "$2" ]]
}

# Whether stat() of the missing path $1 failed for want of search permission
# on a directory on the way (EACCES, as open() tells the TypeScript probe),
# not because something on the way is missing or no directory. A path of
# PATH_MAX bytes or more fails before any directory is searched.
is_blocked() {
  local rest=$1 prefix='' segment
  ((${#rest} < PATH_MAX)) || return 1
  while [[ $rest == */* ]]; do
    segment=${rest%%/*}
    rest=${rest:${#segment}+1}
    prefix+=$segment/
    [[ -d $prefix ]] || return 1
    [[ -x $prefix ]] || return 0
  done
  return 1
}

# Reads the number in <dir>/$1 ($2: the pattern it must match) into $value.
# Sets $problem to "missing" when there is no such file, else to what is
# wrong with it, else to ''.
read_number() {
  local name=$1 pattern=$2 file=$dir/$1 text=''
  value='' problem=''
  if [[ ! -e $file ]]; then
    problem=missing
    is_blocked "$file" && problem="$name file is not readable"
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
elif ! is_utf8 "$unit"; then
  problem='is not valid UTF-8'
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
if ! is_utf8 "$rundir"; then
  problem='is not valid UTF-8'
elif [[ $rundir != /* ]]; then
  problem='is not an absolute path (the probe runs in another working directory)'
elif [[ $rundir/ == */./* || $rundir/ == */../* ]]; then
  problem="contains a '.' or '..' segment"
else
  problem=''
fi
[[ -z $problem ]] || verdict 1 "invalid rundir from $source: $problem"

# Without its trailing slashes, as resolveLocation() drops them: their run
# is measured in doubling, then halving steps, as dropping one slash at a
# time takes time quadratic in the length in bash.
step=/ slashes=''
while ends_with "$rundir" "$step"; do step+=$step; done
while [[ -n $step ]]; do
  ends_with "$rundir" "$slashes$step" && slashes+=$step
  step=${step:0:${#step}/2}
done
rundir=${rundir:0:${#rundir}-${#slashes}}
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
# The whole file, not its first line: the command name may hold newlines
# (read stops at the end of the file, with a status that means nothing here).
line=''
IFS= read -r -d '' line 2>/dev/null <"/proc/$pid/stat"
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
