#!/usr/bin/env bash
# Installs and configures podman for the container suite on a Debian machine
# run as root without systemd (CI's kind of machine). Idempotent: installs
# only what is missing and rewrites the same configuration.
#
#   runtime = "runc"          crun refuses a hybrid cgroup layout
#   cgroup_manager = cgroupfs no systemd to ask
#   events_logger = "file"    no journald
#   default_ulimits           podman asks for more open files than the
#                             machine's hard limit allows: use that limit
#
# Usage: tests/containers/setup_podman.sh   (exit 0 when podman is usable)
set -euo pipefail

CONF=/etc/containers/containers.conf

install_packages() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup_podman: ${missing[*]} missing and not root: cannot install" >&2
    return 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

write_config() {
  local hard
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] && hard=1048576
  local config
  config=$(
    cat <<CONF
# Written by @cic/liveness tests/containers/setup_podman.sh
[containers]
default_ulimits = ["nofile=${hard}:${hard}", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  )
  [[ -f $CONF && $(<"$CONF") == "$config" ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup_podman: cannot write $CONF: not root" >&2
    return 1
  fi
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$config" >"$CONF"
}

main() {
  install_packages
  write_config
  podman --version
}

main "$@"
