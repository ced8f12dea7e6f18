# Sourced by the tests that drive real programs (tests/browser,
# tests/openmetrics, tests/slurm): installs Debian's packages for commands
# that are missing, so a fresh machine runs them as this one does.
#
#   need "what for" CMD [CMD...] -- [APT-OPTION...] PKG [PKG...]
#
# Returns at once when every CMD is on the PATH. Otherwise, as root, runs
# apt-get update and installs PKG (with APT-OPTIONs such as
# --no-install-recommends); not as root, fails saying what to install.
need() {
  local why=$1
  shift
  local cmds=() missing=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    cmds+=("$1")
    shift
  done
  shift
  local c
  for c in "${cmds[@]}"; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local p pkgs=()
  for p in "$@"; do
    [[ $p == -* ]] || pkgs+=("$p")
  done
  echo "${missing[*]} missing ($why): installing Debian's ${pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "FAIL: ${missing[*]} not installed and this is not root; apt-get install ${pkgs[*]}" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
