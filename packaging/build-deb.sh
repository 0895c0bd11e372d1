#!/bin/bash
# Builds the Debian packages otpknockd and otpknock-client (debian/) into OUTDIR.
#
#   packaging/build-deb.sh [--lintian] [--no-build] OUTDIR
#
# 1. `pnpm build` makes the bundles (a Debian build has no network and no pnpm:
#    debian/README.source says why they are built first); --no-build uses the
#    ones already in packages/*/dist.
# 2. dpkg-buildpackage -b in a copy of what debian/rules uses (the working tree
#    gets no build leftovers; the .debs and .buildinfo/.changes go to OUTDIR).
# 3. --lintian: lintian on the .debs; any tag that is not overridden (with a
#    reason, debian/*.lintian-overrides) fails the script, and so do overrides
#    that no longer match anything.
# Needs: dpkg-dev, debhelper (>= 13), and with --lintian lintian (scripts/setup.sh).
set -euo pipefail

usage() { echo "usage: $0 [--lintian] [--no-build] OUTDIR" >&2; exit 2; }
lint=false build=true
while [ $# -gt 0 ]; do
  case $1 in
    --lintian) lint=true ;;
    --no-build) build=false ;;
    -*) usage ;;
    *) break ;;
  esac
  shift
done
[ $# = 1 ] || usage
mkdir -p "$1"
out=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (apt-get install dpkg-dev debhelper)" >&2; exit 2; }
done
$lint && { command -v lintian >/dev/null || { echo "build-deb: lintian is missing (apt-get install lintian)" >&2; exit 2; }; }

version=$(node -p 'require("./package.json").version')
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
# A native package: the same version (a prerelease's - is ~ in Debian's ordering).
[ "${deb_version//\~/-}" = "$version" ] ||
  { echo "build-deb: debian/changelog is at $deb_version, package.json at $version: add a debian/changelog entry (dch -v $version)" >&2; exit 1; }

$build && pnpm build

# What debian/rules and the packages use, and nothing else.
src=$(mktemp -d "${TMPDIR:-/tmp}/otpknock-deb.XXXXXX")
trap 'rm -rf "$src"' EXIT
tree=$src/otpknock-$version
mkdir "$tree"
tar -cf - debian LICENSE README.md CHANGELOG.md package.json docs packaging \
  packages/server/dist/otpknockd.js packages/server/dist/nflog-reader.py \
  packages/client/dist/knock.js packages/client/dist/knock-cli.js | tar -xf - -C "$tree"

( cd "$tree" && dpkg-buildpackage -b -us -uc --no-sign >"$src/build.log" 2>&1 ) ||
  { tail -40 "$src/build.log" >&2; echo "build-deb: dpkg-buildpackage failed" >&2; exit 1; }
debs=()
for f in "$src"/*.deb "$src"/*.buildinfo "$src"/*.changes; do
  [ -e "$f" ] || continue
  mv "$f" "$out/"
  case $f in *.deb) debs+=("$out/$(basename "$f")") ;; esac
done
printf '%s\n' "${debs[@]}"

if $lint; then
  # --fail-on warning (and error): info and pedantic tags are shown, not fatal
  # (debian/*.lintian-overrides explains the ones that stay).
  lintian --fail-on error,warning --display-info --pedantic "${debs[@]}" >&2 ||
    { echo "build-deb: lintian found the tags above" >&2; exit 1; }
  echo "build-deb: lintian: no error or warning" >&2
fi
