#!/usr/bin/env bash
# Builds the Debian package from a built tree with cpack and checks it as an operator
# would meet it: `dpkg-deb -x` into a scratch root, the extracted rtctl's --version and
# validate-config on the shipped /etc/rt/cluster.json, the man page and the bash
# completion (which must complete), the control fields (conffile, maintainer script,
# dependencies), the units with `systemd-analyze verify` where that exists, and
# lintian with no error (E:). Warnings lintian still gives are printed; they are
# explained in docs/operations.md "Installing the Debian package".
#
# Usage: scripts/check-package.sh BUILD_DIR SCRATCH_DIR
#   BUILD_DIR: a configured and built tree (its CPackConfig.cmake); SCRATCH_DIR is
#   emptied and receives the .deb and the extracted root.
# Exit 0 when every check passes, 1 listing the failures, 2 on a usage error.
set -euo pipefail

if [[ $# -ne 2 || ! -f $1/CPackConfig.cmake ]]; then
  echo "usage: $0 BUILD_DIR SCRATCH_DIR (BUILD_DIR must hold CPackConfig.cmake)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch/out" "$scratch/root"
scratch=$(cd "$scratch" && pwd)

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# 1. The package, into the scratch dir (cpack's own temp files go there too).
if ! cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/out" >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log" >&2
  echo "FAIL: cpack" >&2
  exit 1
fi
debs=("$scratch"/out/rt_*_amd64.deb)
if [[ ${#debs[@]} -ne 1 || ! -f ${debs[0]} ]]; then
  echo "FAIL: cpack made no single rt_<version>_amd64.deb in $scratch/out" >&2
  exit 1
fi
deb=${debs[0]}
ok "built $(basename "$deb")"

# 2. Control fields.
dpkg-deb -x "$deb" "$scratch/root"
dpkg-deb -e "$deb" "$scratch/control"
version=$(dpkg-deb -f "$deb" Version)
[[ $(basename "$deb") == "rt_${version}_amd64.deb" ]] || fail "file name does not carry version $version"
[[ $version =~ ^[0-9][0-9.]*(\+git[0-9a-f]+)?$ ]] || fail "unexpected version '$version'"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in adduser libkyotocabinet libcurl libssl libc6; do
  [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
grep -qx /etc/rt/cluster.json "$scratch/control/conffiles" || fail "/etc/rt/cluster.json is not a conffile"
[[ -x $scratch/control/postinst ]] || fail "no executable postinst"
sh -n "$scratch/control/postinst" || fail "postinst is not valid sh"
if grep -Eq 'systemctl|deb-systemd|invoke-rc.d' "$scratch/control/postinst"; then
  fail "postinst touches units (it must never start or enable them)"
fi
ok "control: Version $version, Depends $depends"

# 3. The extracted rtctl.
root=$scratch/root
rtctl=$root/usr/bin/rtctl
[[ -x $rtctl ]] || { echo "FAIL: no /usr/bin/rtctl in the package" >&2; exit 1; }
out=$("$rtctl" --version) || fail "rtctl --version exited $?"
first=${out%%$'\n'*}
[[ $first =~ ^rtctl\ [0-9][0-9.]*\ \(git\ ([0-9a-f]+|unknown)\)$ ]] || fail "--version first line: '$first'"
[[ $out == *"Kyoto Cabinet "[0-9]* && $out == *"Boost "[0-9]* ]] || fail "--version lacks Kyoto/Boost: $out"
ok "rtctl --version: ${out//$'\n'/ | }"
if "$rtctl" validate-config "$root/etc/rt/cluster.json" >"$scratch/validate.log" 2>&1; then
  ok "validate-config /etc/rt/cluster.json"
else
  cat "$scratch/validate.log" >&2
  fail "validate-config on the shipped /etc/rt/cluster.json"
fi
[[ -d $root/var/lib/rt ]] || fail "no /var/lib/rt"

# 4. Man page: help2man's sections and every subcommand's help.
man=$root/usr/share/man/man1/rtctl.1.gz
if [[ -f $man ]]; then
  page=$(zcat "$man")
  for want in '.SH SYNOPSIS' '.SH OPTIONS' '.SH SUBCOMMANDS' '.SS "rtctl serve-api"' \
              '.SS "rtctl validate-config"' '\-\-version' '.SH FILES'; do
    [[ $page == *"$want"* ]] || fail "man page lacks '$want'"
  done
  ok "man page rtctl(1)"
else
  fail "no $man"
fi

# 5. Bash completion: it loads and completes subcommands and their options.
completion=$root/usr/share/bash-completion/completions/rtctl
complete_words() {  # complete_words WORD...: COMPREPLY for the last word
  bash --norc --noprofile -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rtctl; echo "${COMPREPLY[*]}"' _ "$completion" "$@"
}
if [[ -f $completion ]]; then
  got=$(complete_words rtctl serve-w)
  [[ $got == serve-worker ]] || fail "completion of 'rtctl serve-w': '$got'"
  got=$(complete_words rtctl serve-api --conf)
  [[ $got == --config ]] || fail "completion of 'rtctl serve-api --conf': '$got'"
  got=$(complete_words rtctl validate-config --against old.json --n)
  [[ $got == *--now* ]] || fail "completion after an option's value: '$got'"
  got=$(complete_words rtctl --v)
  [[ $got == --version ]] || fail "completion of 'rtctl --v': '$got'"
  ok "bash completion"
else
  fail "no $completion"
fi

# 6. The units: present, using the packaged rtctl and the user rt; verified where
# systemd-analyze exists (with ExecStart pointed at the extracted rtctl).
for unit in rt-api@.service rt-worker@.service; do
  file=$root/lib/systemd/system/$unit
  if [[ ! -f $file ]]; then fail "no /lib/systemd/system/$unit"; continue; fi
  grep -q '^ExecStart=/usr/bin/rtctl ' "$file" || fail "$unit does not run /usr/bin/rtctl"
  grep -q '^User=rt$' "$file" || fail "$unit does not run as user rt"
  if command -v systemd-analyze >/dev/null; then
    instance=$scratch/verify/${unit/@.service/@0.service}
    mkdir -p "$scratch/verify"
    sed "s#/usr/bin/rtctl#$rtctl#g" "$file" >"$instance"
    # The unit's Documentation= names man:rtctl(1): let man(1) find the extracted page.
    if msg=$(MANPATH=$root/usr/share/man systemd-analyze verify "$instance" 2>&1) && [[ -z $msg ]]; then
      ok "systemd-analyze verify $unit"
    else
      fail "systemd-analyze verify $unit: $msg"
    fi
  else
    echo "SKIPPED: systemd-analyze verify $unit (systemd-analyze is not installed)"
  fi
done

# 7. lintian: no errors; warnings are listed (and explained in docs/operations.md).
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb" >"$scratch/lintian.log" 2>&1 || true
  cat "$scratch/lintian.log"
  if grep -q '^E:' "$scratch/lintian.log"; then
    fail "lintian reports errors"
  else
    ok "lintian: no errors ($(grep -c '^W:' "$scratch/lintian.log" || true) warnings)"
  fi
else
  fail "lintian is not installed (scripts/install-deps.sh installs it)"
fi

if [[ $failures -gt 0 ]]; then
  echo "check-package: $failures check(s) failed" >&2
  exit 1
fi
echo "check-package: $(basename "$deb") passes"
