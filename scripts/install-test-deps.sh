#!/usr/bin/env bash
# Installs the system packages the test suite drives for real: Samba's smbd,
# Debian's Chromium, exiftool, and zstd/jq for pipeline checks. Only what is
# missing is installed; without root or apt it says what to install instead.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have smbd      || need+=(samba)
have smbpasswd || need+=(samba-common-bin)
# The test smbd loads vfs catia (names with : * ? …); it lives in
# samba-vfs-modules, a Recommends that --no-install-recommends leaves out.
ls /usr/lib/*/samba/vfs/catia.so >/dev/null 2>&1 || need+=(samba-vfs-modules)
have chromium  || need+=(chromium)
have exiftool  || need+=(libimage-exiftool-perl)
have zstd      || need+=(zstd)
have jq        || need+=(jq)
have curl      || need+=(curl)
have setpriv   || need+=(util-linux)
# The generated completion scripts and man pages are checked with zsh -n,
# fish -n and man -l (groff renders).
have zsh       || need+=(zsh)
have fish      || need+=(fish)
have man       || need+=(man-db)
have groff     || need+=(groff-base)
if [ ${#need[@]} -eq 0 ]; then
  echo "test dependencies: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "missing: ${need[*]} — install them (apt-get install ${need[*]}) or the tests that need them skip" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
