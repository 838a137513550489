#!/bin/bash -p
# probe.sh: the liveness probe of @cic/liveness, for a Kubernetes exec probe
# or a Docker HEALTHCHECK, with nothing but bash (4.2 or later).
#
#   probe.sh [--unit NAME] [--rundir DIR] [--ready] [--max-age AGE]
#
# Run it as a program (not as `bash probe.sh`): -p in the first line keeps
# the environment out of the script ($BASH_ENV, imported functions,
# $SHELLOPTS, $BASHOPTS).
#
# Reads the state the library writes in <rundir>/<unit>/ (pid, starttime,
# error, heartbeat, ready), prints one short line saying why, and exits 0
# when the unit is healthy, 1 for anything else: bad usage (Docker reserves
# 2), and a line it could not write (a closed pipe, a full disk).
#
# It starts no process, so it is cheap, works on a read-only root file system
# and cannot hang on a missing command: no $(...), no pipes, no here-strings,
# no temporary files. The builtins and keywords it uses, all in bash 4.2:
#   printf, read, exit, return, local, shift, set, shopt, trap, exec,
#   readonly, :, [[ ]], (( )), case, if, while, for, { }, and function
#   definitions. (One exec may be tried on a path that no exec can run: see
#   is_denied.)
# Each file is opened once and read to its end (or its bound), never sought
# back: the kernel makes /proc files anew after a seek, so two reads of one
# could disagree. Every loop is linear in its input.
#
# It gives the same verdicts and lines as src/_probe.ts (the liveness-probe
# command and probe()), check for check in the same order (main() runs them
# in the order docs/probes.md lists under "The verdict"),
# and mirrors the flags of src/_flags.ts: keep them in step;
# tests/probe_cases.json runs all.

set -u
# Bytes, not characters: ${#var}, read -n and [...] ranges below count bytes.
LC_ALL=C

# As STATE_MAX_BYTES in src/_state.ts: any valid number fits many times over.
readonly MAX_BYTES=32
# As HEARTBEAT_MAX_BYTES and READY_MAX_BYTES in src/_verdict.ts.
readonly HEARTBEAT_MAX_BYTES=128 READY_MAX_BYTES=256
# Linux's longest path, with its NUL.
readonly PATH_MAX=4096
# The kernel's PID_MAX_LIMIT, where /proc/sys/kernel/pid_max does not say.
readonly PID_MAX_FALLBACK=4194304
# The numbers the library writes: canonical decimal, '-' only for an error.
readonly UNSIGNED='^(0|[1-9][0-9]*)$'
readonly SIGNED='^(0|-?[1-9][0-9]*)$'
# As HEARTBEAT_LINE and parseUptime() in src/_verdict.ts.
readonly HEARTBEAT='^(0|[1-9][0-9]{0,12})\.([0-9]{2}) ([1-9][0-9]{0,12}) ([1-9][0-9]{0,12}) (0|[1-9][0-9]{0,19}|-)$'
readonly UPTIME=$'^(0|[1-9][0-9]{0,12})\\.([0-9]{2})[ \n]'
# As MEMBERS_MAX_BYTES and MEMBER_MAX_BYTES in src/_members.ts.
readonly MEMBERS_MAX_BYTES=2112 MEMBER_MAX_BYTES=512
# As parseMaxAge() in src/_flags.ts: seconds, bare or with 's', or milliseconds with 'ms'.
readonly SECONDS_PATTERN='^(0|[1-9][0-9]{0,8})(\.([0-9]{1,3}))?s?$'
readonly MILLISECONDS_PATTERN='^(0|[1-9][0-9]{0,11})ms$'
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

# The functions' out-parameters (a function returns only a status): each is
# set by the functions named, for their callers to read.
text=''           # slurp, read_state: what was read
cut=0             # slurp: 1 when the read stopped before the end
problem=''        # read_state, read_number: what is wrong with the file, or ''
value=''          # read_number: the number read
shown=''          # show: the text, safe for one line of a log
seconds=''        # to_seconds: milliseconds as seconds
unit_flag=''      # parse_args: the value of --unit
has_unit_flag=0   # parse_args: 1 when --unit was given
rundir_flag=''    # parse_args: the value of --rundir
has_rundir_flag=0 # parse_args: 1 when --rundir was given
ready=0           # parse_args: 1 with --ready
max_age=''        # parse_max_age: --max-age in milliseconds, '' without it
source=''         # find_unit, find_rundir: where the value came from
unit=''           # find_unit: the unit's name
rundir=''         # find_rundir: the directory of unit directories
dir=''            # check_location: <rundir>/<unit>, where the state is
label=''          # check_location: 'unit <name>', which starts a unit's line
pid=''            # check_pid: the pid from the pid file
starttime=''      # check_process: that process's start time
writer=''         # check_starttime: the writer's start time, '-' without one
pid_limit=''      # check_pid: the highest pid
now=''            # check_heartbeat, check_member: /proc/uptime in hundredths of a second, once read
gone=''           # member_process, member_thread: why a member's process or thread is gone
members_problem='' # read_members: what is wrong with the members file ('missing': none)
member_ids=''     # read_members: the members' ids, separated by spaces
member_problems=() # read_members: what read_state said of each member's file
member_texts=()   # read_members: each member's file's text
state=''          # parse_stat: the state in a stat line in $text
start=''          # parse_stat: the start time in it

usage() {
  say 0 "Usage: ${0##*/} [--unit NAME] [--rundir DIR] [--ready] [--max-age AGE]" \
    '' \
    'Tells whether the unit whose state is in <rundir>/<unit>/ is alive and' \
    'healthy (with --ready: and ready). Prints one line saying why; exits 0' \
    'when healthy, 1 when not.' \
    '' \
    "  --unit NAME    the unit (default: \$LIVENESS_UNIT_NAME, \$CIC_UNIT, the host name)" \
    '  --rundir DIR   the absolute directory of unit directories' \
    "                 (default: \$LIVENESS_RUNDIR, \$CIC_RUNDIR, /run)" \
    '  --ready        healthy only when the unit is also ready' \
    '  --max-age AGE  the oldest heartbeat that counts, in seconds (10, 2.5)' \
    "                 or with a unit (10s, 500ms) (default: the program's own)" \
    '  -h, --help     print this help and exit'
}

# Prints the lines $2... and exits with $1 (0 for "healthy", "ready" and the
# help, 1 for anything else), or with 1 when they could not be written
# (SIGPIPE is ignored, so a closed pipe is a failed write, not 141).
say() {
  local code=$1
  shift
  printf '%s\n' "$@" || exit 1
  exit "$code"
}

# The unit's line for a check that failed.
fail() {
  say 1 "${label:+$label: }$1"
}

# The probe could not judge.
failed() {
  fail "probe failed: $1"
}

bad_usage() {
  say 1 "bad usage: $1 (try --help)"
}

# Sets $shown to $1 safe for one line of a log: each byte outside printable
# ASCII becomes '?', and at most $2 bytes are kept (all without $2).
show() {
  shown=${1:0:${2:-${#1}}}
  shown=${shown//[! -~]/?}
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
# on a directory on the way (EACCES, as lstat() tells the TypeScript probe),
# not because something on the way is missing or no directory. A path of
# PATH_MAX bytes or more fails before any directory is searched.
is_blocked() {
  local rest=$1 prefix='' segment
  ((${#rest} < PATH_MAX)) || return 1
  while [[ $rest == */* ]]; do
    segment=${rest%%/*}
    rest=${rest:${#segment}+1}
    prefix+=$segment/
    if [[ ! -d $prefix ]]; then
      # A link whose target cannot be looked up (a unit directory linked
      # elsewhere, /proc/1/root): missing, or behind a directory this user
      # may not search, which [[ ]] cannot tell apart.
      [[ -L ${prefix%/} && ! -e ${prefix%/} ]] && is_denied "$prefix."
      return
    fi
    [[ -x $prefix ]] || return 0
  done
  return 1
}

# Whether looking up the path $1, which cannot be looked up, fails for
# another reason than a missing file (ENOENT). Bash tells errno only by the
# status of a failed exec (execfail is set): 127 for ENOENT, 126 for any
# other error. $1 ends in '/.': found, it is a directory, which no exec runs.
# (A link that loops, or leads through a file further on, is 126 as well,
# where the TypeScript probe says missing: the one case they part on.)
is_denied() {
  # shellcheck disable=SC2093 # with execfail, the script goes on
  exec "$1"
  (($? != 127))
}

# Reads the file $1 into $text with one open: to its end, or (with $2 > 0)
# at most $2 + 1 bytes. Sets $cut when the read stopped before the end (at a
# NUL byte, or past $2 bytes). Returns 1 when the file could not be opened;
# when /dev/null cannot be opened either, no file descriptor is left, and
# the probe cannot judge.
slurp() {
  local opened=0
  text='' cut=0
  if (($2 > 0)); then
    { opened=1 && IFS= read -r -d '' -n "$(($2 + 1))" text && cut=1; } <"$1"
  else
    { opened=1 && IFS= read -r -d '' text && cut=1; } <"$1"
  fi
  ((opened)) && return 0
  { :; } </dev/null || failed 'too many open files'
  return 1
}

# Reads the state file <dir>/$1 (at most $2 bytes) into $text. Sets $problem
# to "missing" when there is none, else to what is wrong with it, as the
# words after "<name> file" ("invalid" when the content is cut), else to ''.
# lstat decides first: a symbolic link is never ours, and the type of what
# is there needs no read permission.
read_state() {
  local file=$dir/$1
  text='' problem=''
  if [[ -L $file ]]; then
    problem='is a symbolic link'
  elif [[ ! -e $file ]]; then
    problem=missing
    is_blocked "$file" && problem='is not readable'
  elif [[ ! -f $file ]]; then
    # Never open what is no regular file: a FIFO would wait for a writer.
    problem='is not a regular file'
  elif [[ ! -r $file ]]; then
    problem='is not readable'
  elif ! slurp "$file" "$2"; then
    # Gone since the look, or no longer ours to read.
    problem=missing
    [[ -e $file || -L $file ]] && problem='is not readable'
  elif ((cut)); then
    problem=invalid
  elif [[ -z $text || $text == $'\n' ]]; then
    problem='is empty'
  fi
}

# Reads the number in <dir>/$1 ($2: the pattern it must match) into $value,
# with $problem as read_state sets it ("is not a number" for "invalid").
read_number() {
  value=''
  read_state "$1" "$MAX_BYTES"
  [[ $problem == invalid ]] && problem='is not a number'
  [[ -n $problem ]] && return
  text=${text%$'\n'}
  if [[ $text =~ $2 ]]; then
    value=$text
  else
    problem='is not a number'
  fi
}

# The command line, left to right: the first --help or problem ends it, and a
# later flag wins over an earlier one. As parseCommandLine() in src/_flags.ts.
parse_args() {
  local name flag_value
  while (($# > 0)); do
    name=$1 flag_value=''
    if [[ $1 == --?*=* ]]; then
      name=${1%%=*} flag_value=${1#*=}
    fi
    case $name in
      -h | --help | --ready)
        [[ $name != "$1" ]] && bad_usage "$name takes no value"
        [[ $name == --ready ]] || usage
        ready=1
        ;;
      --unit | --rundir | --max-age)
        if [[ $name == "$1" ]]; then
          (($# >= 2)) || bad_usage "$1 needs a value"
          flag_value=$2
          shift
        fi
        case $name in
          --unit) unit_flag=$flag_value has_unit_flag=1 ;;
          --rundir) rundir_flag=$flag_value has_rundir_flag=1 ;;
          *) parse_max_age "$flag_value" ;;
        esac
        ;;
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
}

# Sets $max_age to the milliseconds in $1: seconds with at most 3 decimals
# (bare or with 's'), or milliseconds with 'ms'.
parse_max_age() {
  local fraction
  max_age=''
  if [[ $1 =~ $MILLISECONDS_PATTERN ]]; then
    max_age=${BASH_REMATCH[1]}
  elif [[ $1 =~ $SECONDS_PATTERN ]]; then
    fraction=${BASH_REMATCH[3]}000
    max_age=$((BASH_REMATCH[1] * 1000 + 10#${fraction:0:3}))
  fi
  if [[ -z $max_age || $max_age == 0 ]]; then
    bad_usage '--max-age takes an age such as 10 (seconds), 2.5s or 500ms'
  fi
}

# The location, as resolveLocation() in src/_location.ts finds and checks
# it: the unit first. Sets $dir, without the rundir's trailing slashes, and
# $label.
check_location() {
  local step=/ slashes=''
  find_unit
  validate_unit
  find_rundir
  validate_rundir
  # Drop the trailing slashes, as resolveLocation() does: their run is
  # measured in doubling, then halving steps, as dropping one slash at a
  # time takes time quadratic in the length in bash.
  while ends_with "$rundir" "$step"; do step+=$step; done
  while [[ -n $step ]]; do
    ends_with "$rundir" "$slashes$step" && slashes+=$step
    step=${step:0:${#step}/2}
  done
  dir=${rundir:0:${#rundir}-${#slashes}}/$unit
  show "$unit" 255
  label="unit $shown"
}

# Sets $unit and $source: the flag, else the first non-empty variable, else
# the host name.
find_unit() {
  if ((has_unit_flag)); then
    unit=$unit_flag source=--unit
  elif [[ -n ${LIVENESS_UNIT_NAME:-} ]]; then
    unit=$LIVENESS_UNIT_NAME source="\$LIVENESS_UNIT_NAME"
  elif [[ -n ${CIC_UNIT:-} ]]; then
    unit=$CIC_UNIT source="\$CIC_UNIT"
  else
    # gethostname(), as the runtimes read it, whole (it may hold a newline);
    # $HOSTNAME may come from outside.
    if slurp /proc/sys/kernel/hostname 0; then
      unit=${text%$'\n'}
    else
      unit=${HOSTNAME:-}
    fi
    source='the host name'
  fi
}

# Says why $unit is not a usable directory name, as validateUnit() does.
validate_unit() {
  local problem=''
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
  fi
  # (A NUL byte, the other thing a unit must not hold, cannot reach bash.)
  [[ -z $problem ]] || say 1 "invalid unit name from $source: $problem"
}

# Sets $rundir and $source: the flag, else the first non-empty variable, else
# /run.
find_rundir() {
  if ((has_rundir_flag)); then
    rundir=$rundir_flag source=--rundir
  elif [[ -n ${LIVENESS_RUNDIR:-} ]]; then
    rundir=$LIVENESS_RUNDIR source="\$LIVENESS_RUNDIR"
  elif [[ -n ${CIC_RUNDIR:-} ]]; then
    rundir=$CIC_RUNDIR source="\$CIC_RUNDIR"
  else
    rundir=/run source=default
  fi
}

# Says why $rundir is not an absolute directory path without '.' or '..'
# segments, as validateRundir() does.
validate_rundir() {
  local problem=''
  if ! is_utf8 "$rundir"; then
    problem='is not valid UTF-8'
  elif [[ $rundir != /* ]]; then
    problem='is not an absolute path (the probe runs in another working directory)'
  elif [[ $rundir/ == */./* || $rundir/ == */../* ]]; then
    problem="contains a '.' or '..' segment"
  fi
  [[ -z $problem ]] || say 1 "invalid rundir from $source: $problem"
}

# The pid file holds a pid: 1 to below pid_max. Sets $pid.
check_pid() {
  local pid_max=$PID_MAX_FALLBACK limit
  read_number pid "$UNSIGNED"
  [[ $problem == missing ]] && no_pid
  [[ -z $problem ]] || fail "pid file $problem"
  pid=$value
  if slurp /proc/sys/kernel/pid_max 16 && ((!cut)) && [[ $text =~ ^([1-9][0-9]{0,9})$'\n'?$ ]]; then
    pid_max=${BASH_REMATCH[1]}
  fi
  limit=$((pid_max - 1)) pid_limit=$((pid_max - 1))
  # Compare lengths first: a long number would overflow bash's arithmetic.
  if ((${#pid} > ${#limit})) || ((pid < 1 || pid > limit)); then
    fail "pid $pid is out of range (1 to $limit)"
  fi
}

# No pid file. The path tells a wrong --rundir from a wrong --unit; what is
# missing, the unit's directory or the rundir, tells a unit never loaded
# there from one not loaded now. As missingPid() in src/_probe.ts: each
# looked up as <path>/., following links.
no_pid() {
  local file missing=$dir
  show "$dir/pid"
  file=$shown
  [[ -d $dir/. ]] && fail "no pid file at $file (the directory exists: not loaded)"
  # The rundir: '' for /, which is always there.
  [[ -d ${dir%/*}/. ]] || missing=${dir%/*}
  show "$missing"
  fail "no pid file at $file (no directory $shown)"
}

# That pid is a live process: /proc/<pid> also answers for a thread id,
# whose Tgid is its process's; a zombie's state is Z (or X). Sets $starttime,
# the process's start time.
check_process() {
  local tgid='' rest state field
  if slurp "/proc/$pid/status" 0 && [[ $text == *$'\nTgid:'* ]]; then
    tgid=${text#*$'\nTgid:'}
    tgid=${tgid%%$'\n'*}
    tgid=${tgid//[[:space:]]/}
  fi
  [[ -n $tgid ]] || not_running
  [[ $tgid == "$pid" ]] || fail "pid $pid is a thread of process $tgid"
  # Fields count from after the last ')': the command name may hold spaces,
  # parentheses and newlines. The state is field 3, the start time field 22.
  slurp "/proc/$pid/stat" 0 || text=''
  rest=${text##*)}
  rest=${rest# }
  state=${rest%% *}
  for ((field = 3; field < 22; field++)); do rest=${rest#* }; done
  starttime=${rest%% *}
  if [[ -z $text || -z $state || ! $starttime =~ ^[0-9]+$ ]]; then
    not_running
  fi
  [[ $state == [ZX] ]] && fail "pid $pid is a zombie"
}

# No such process, unless /proc hides it: with hidepid, /proc shows only
# this user's processes, so not even pid 1.
not_running() {
  [[ -e /proc/1 ]] || failed "/proc shows no pid 1 (hidepid?), so pid $pid may be running"
  fail "pid $pid is not running"
}

# Where the writer recorded its start time (one without /proc does not), it is this
# process's: else the pid is a later process's, such as a new pid 1. Sets
# $writer to it, or '-' without a starttime file.
check_starttime() {
  read_number starttime "$UNSIGNED"
  writer=-
  [[ $problem == missing ]] && return
  [[ -z $problem ]] || fail "starttime file $problem"
  [[ $value == "$starttime" ]] || fail "state is from an earlier process with pid $pid"
  writer=$value
}

# The error code is 0 (compared as text: it may be beyond bash's numbers).
check_error() {
  read_number error "$SIGNED"
  # Read once the pid is live: the unit is loaded, and set() has not run.
  [[ $problem == missing ]] && fail 'not started: set(0) not called yet'
  [[ -z $problem ]] || fail "error file $problem"
  [[ $value == 0 ]] || fail "error $value"
}

# A heartbeat that names this writer is not older than its maximum age
# (or --max-age). Ages are in /proc/uptime's hundredths of a second.
check_heartbeat() {
  local at limit age
  read_state heartbeat "$HEARTBEAT_MAX_BYTES"
  [[ $problem == missing ]] && return
  [[ $problem == invalid ]] && problem='is not valid'
  [[ -z $problem ]] || fail "heartbeat file $problem"
  [[ ${text%$'\n'} =~ $HEARTBEAT ]] || fail 'heartbeat file is not valid'
  # Another writer's beat (an earlier process's) is not this one's.
  [[ ${BASH_REMATCH[4]} == "$pid" && ${BASH_REMATCH[5]} == "$writer" ]] || return
  at=$((BASH_REMATCH[1] * 100 + 10#${BASH_REMATCH[2]}))
  limit=${max_age:-${BASH_REMATCH[3]}}
  if ! slurp /proc/uptime 0 || [[ ! $text =~ $UPTIME ]]; then
    failed 'cannot read /proc/uptime'
  fi
  now=$((BASH_REMATCH[1] * 100 + 10#${BASH_REMATCH[2]}))
  age=$(((now - at) * 10))
  ((age >= 0)) || fail 'heartbeat file is from the future'
  ((age <= limit)) && return
  fail_stale '' "$age" "$limit"
}

# Fails with $1 and 'no heartbeat for As (max Ms)' for the age $2 ms and the
# limit $3 ms: the limit with as few decimals as it needs; the age with as
# many, rounded up, so that it shows above the limit.
fail_stale() {
  local max step=1000 fraction
  to_seconds "$3"
  max=$seconds
  if [[ $max == *.* ]]; then
    fraction=${max#*.}
    step=$((10 ** (3 - ${#fraction})))
  fi
  to_seconds $((($2 + step - 1) / step * step))
  fail "$1no heartbeat for ${seconds}s (max ${max}s)"
}

# Sets $seconds to $1 milliseconds in seconds, with as few decimals as it
# needs. As formatSeconds() in src/_verdict.ts.
to_seconds() {
  local fraction=00$(($1 % 1000))
  fraction=${fraction:${#fraction}-3}
  while [[ $fraction == *0 ]]; do fraction=${fraction%0}; done
  seconds=$(($1 / 1000))${fraction:+.$fraction}
}

# With --ready, the program said it is ready; no ready file (a writer that
# does not say) is ready. A reason shows printable.
check_ready() {
  local line
  read_state ready "$READY_MAX_BYTES"
  [[ $problem == missing ]] && return
  [[ $problem == invalid ]] && problem='is not valid'
  [[ -z $problem ]] || fail "ready file $problem"
  line=${text%$'\n'}
  case $line in
    ready) return ;;
    draining) fail draining ;;
    not-ready) fail 'not ready' ;;
    *$'\n'*) ;;
    'not-ready '*)
      show "${line#not-ready }" "$READY_MAX_BYTES"
      [[ -n $shown ]] || fail 'not ready'
      fail "not ready ($shown)"
      ;;
  esac
  fail 'ready file is not valid'
}

# Reads the members file and every member's file before any clock is read
# (check_heartbeat, check_member), so that no beat is later than the clock:
# as readMembers() in src/_members.ts. Sets $members_problem ('missing' for
# no members file) or $member_ids, $member_problems and $member_texts.
read_members() {
  local line id count=0
  read_state members "$MEMBERS_MAX_BYTES"
  members_problem=$problem
  [[ $problem == invalid ]] && members_problem='is not valid'
  [[ -z $problem ]] || return
  line=${text%$'\n'}
  if [[ $line == *[!A-Za-z0-9_\ -]* || $line == ' '* || $line == *' ' || $line == *'  '* ]]; then
    members_problem='is not valid'
    return
  fi
  # The ids hold no space, tab or pattern character: splitting is safe.
  for id in $line; do
    if ((${#id} > 32 || ++count > 64)); then
      members_problem='is not valid'
      return
    fi
  done
  member_ids=$line
  for id in $line; do
    read_state "member.$id" "$MEMBER_MAX_BYTES"
    member_problems+=("$problem") member_texts+=("$text")
  done
}

# The members the owner declared, each in the members file's order, after
# the unit's own checks: as judgeMembers() in src/_members.ts.
check_members() {
  local id index=0
  [[ $members_problem == missing ]] && return
  [[ -z $members_problem ]] || fail "members file $members_problem"
  for id in $member_ids; do
    problem=${member_problems[index]} text=${member_texts[index]}
    check_member "$id"
    ((++index))
  done
}

# The member $1, its file read as read_state left $problem and $text. Gone
# (its process or thread) or not started: not ready at once, not live once
# its last beat is older than its max age. As judgeMember() in
# src/_members.ts.
check_member() {
  local name="worker $1" line m_pid m_start m_tid='' m_tstart m_error m_ready m_at='' m_max age
  local stale=0
  [[ $problem == missing ]] && fail "$name: not joined"
  [[ $problem == invalid ]] && problem='is not valid'
  [[ -z $problem ]] || fail "$name: member file $problem"
  line=${text%$'\n'}
  parse_member || fail "$name: member file is not valid"
  if [[ $m_ready == left ]]; then
    ((ready)) && fail "$name: left"
    return
  fi
  if ((${#m_pid} > ${#pid_limit})) || ((m_pid > pid_limit)); then
    fail "$name: pid $m_pid is out of range (1 to $pid_limit)"
  fi
  gone=''
  if [[ $m_pid == "$pid" ]]; then
    # The owner's process, which the checks found live: nothing more to read.
    if [[ $m_start != - && $m_start != "$starttime" ]]; then
      gone="state is from an earlier process with pid $m_pid"
    fi
  else
    member_process "$m_pid" "$m_start"
  fi
  [[ -z $gone && -n $m_tid ]] && member_thread "$m_pid" "$m_tid" "$m_tstart"
  if [[ -n $m_at ]]; then
    if [[ -z $now ]]; then
      if ! slurp /proc/uptime 0 || [[ ! $text =~ $UPTIME ]]; then
        failed 'cannot read /proc/uptime'
      fi
      now=$((BASH_REMATCH[1] * 100 + 10#${BASH_REMATCH[2]}))
    fi
    age=$(((now - m_at) * 10))
    ((age >= 0)) || fail "$name: heartbeat is from the future"
    ((age > ${max_age:-$m_max})) && stale=1
  fi
  if [[ -n $gone ]] && ((ready || stale)) || [[ -n $gone && -z $m_at ]]; then
    fail "$name: $gone"
  fi
  if [[ $m_error == - ]]; then
    ((ready)) && fail "$name: not started: set(0) not called yet"
  elif [[ $m_error != 0 ]]; then
    fail "$name: error $m_error"
  fi
  ((stale)) && fail_stale "$name: " "$age" "${max_age:-$m_max}"
  ((ready)) || return
  case $m_ready in
    ready) return ;;
    draining) fail "$name: draining" ;;
  esac
  line=${m_ready#not-ready}
  show "${line# }"
  [[ -n $shown ]] || fail "$name: not ready"
  fail "$name: not ready ($shown)"
}

# Splits $line, a member's line, into check_member's m_ fields; returns 1
# when it is not one. As MEMBER_LINE in src/_members.ts, by patterns: a
# regular expression would be compiled anew for each member.
parse_member() {
  local rest=$line field at
  [[ $rest != *$'\n'* ]] || return 1
  next_field && is_number "$field" 13 && [[ $field != 0 ]] && m_pid=$field || return 1
  next_field && { [[ $field == - ]] || is_number "$field" 20; } && m_start=$field || return 1
  next_field || return 1
  if [[ $field != - ]]; then
    m_tid=${field%%.*} m_tstart=${field#*.}
    [[ $field == *.* && $m_tid != 0 ]] && is_number "$m_tid" 10 && is_number "$m_tstart" 20 ||
      return 1
  fi
  next_field && m_error=$field || return 1
  [[ $field == - ]] || is_number "${field#-}" 20 && [[ $field != -0 ]] || return 1
  next_field && at=$field && next_field && m_max=$field || return 1
  if [[ $at == - ]]; then
    [[ $m_max == - ]] || return 1
  else
    is_number "${at%.*}" 13 && [[ $at == *.[0-9][0-9] && $m_max != 0 ]] || return 1
    is_number "$m_max" 13 || return 1
    m_at=$((${at%.*} * 100 + 10#${at#*.}))
  fi
  m_ready=$rest
  case $rest in
    ready | draining | left | not-ready | 'not-ready '*) return 0 ;;
  esac
  return 1
}

# Takes the field before the next space off $rest into $field (check_member's
# locals); returns 1 when there is no space left.
next_field() {
  [[ $rest == *' '* ]] || return 1
  field=${rest%% *}
  rest=${rest#* }
}

# Whether $1 is a canonical decimal number of at most $2 digits.
is_number() {
  [[ $1 == 0 || ($1 == [1-9]* && $1 != *[!0-9]* && ${#1} -le $2) ]]
}

# Sets $gone when the process $1 is no live process, or (with its recorded
# start time $2, '-' for none) a later one: the owner's rules. With a start
# time, the stat alone tells a later process, or a thread, with that id.
member_process() {
  local tgid=$1
  if [[ $2 != - ]]; then
    :
  elif slurp "/proc/$1/status" 0 && [[ $text == *$'\nTgid:'* ]]; then
    tgid=${text#*$'\nTgid:'}
    tgid=${tgid%%$'\n'*}
    tgid=${tgid//[[:space:]]/}
  else
    tgid=''
  fi
  if [[ -z $tgid ]]; then
    gone="pid $1 is not running"
  elif [[ $tgid != "$1" ]]; then
    gone="pid $1 is a thread of process $tgid"
  else
    slurp "/proc/$1/stat" 0 || text=''
    parse_stat
    if [[ -z $state ]]; then
      gone="pid $1 is not running"
    elif [[ $state == [ZX] ]]; then
      gone="pid $1 is a zombie"
    elif [[ $2 != - && $2 != "$start" ]]; then
      gone="state is from an earlier process with pid $1"
    fi
  fi
}

# Sets $gone when the thread $2 of the process $1 is not running, or is a
# later thread than the one started at $3.
member_thread() {
  slurp "/proc/$1/task/$2/stat" 0 || text=''
  parse_stat
  if [[ -z $state || $state == [ZX] ]]; then
    gone="thread $2 of pid $1 is not running"
  elif [[ $start != "$3" ]]; then
    gone="state is from an earlier thread $2 of pid $1"
  fi
}

# Sets $state and $start from the stat line in $text, both '' when it is
# none: fields count from after the last ')'.
parse_stat() {
  local rest=${text##*)} field
  rest=${rest# }
  state=${rest%% *}
  for ((field = 3; field < 22; field++)); do rest=${rest#* }; done
  start=${rest%% *}
  [[ -n $text && -n $state && $start =~ ^[0-9]+$ ]] || state='' start=''
}

main() {
  # Nothing of ours goes to stderr: a failed open says what it means itself.
  exec 2>/dev/null
  trap '' PIPE
  # A failed exec (see is_denied) returns its status rather than exiting.
  shopt -s execfail
  parse_args "$@"
  check_location
  check_pid
  check_process
  check_starttime
  check_error
  read_members
  check_heartbeat
  ((ready)) && check_ready
  check_members
  ((ready)) && say 0 "$label: ready (pid $pid)"
  say 0 "$label: healthy (pid $pid)"
}

main "$@"
