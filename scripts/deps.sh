#!/bin/sh
# Installs the Debian packages in a list (default
# scripts/debian-packages.txt) that are missing.
# As root it runs apt-get; otherwise it prints the command and fails.
set -eu
list=${1:-"$(dirname "$0")/debian-packages.txt"}
missing=""
for p in $(grep -v '^#' "$list" | sed 's/[[:space:]]*$//' | grep -v '^$'); do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
