#!/bin/sh
# Downloads a Debian source package (its .dsc and the files it lists) from Debian's archive with a
# private apt configuration: nothing on the machine is changed.
#
#   scripts/debian_source.sh DIR PACKAGE[=VERSION] SUITE...
#
# A suite named *-security is taken from the security archive. The caller unpacks the result with
# dpkg-source -x (DIR/PACKAGE_*.dsc).
set -eu

[ $# -ge 3 ] || { echo "usage: $0 DIR PACKAGE[=VERSION] SUITE..." >&2; exit 2; }
DIR=$1
PACKAGE=$2
shift 2
mkdir -p "$DIR/.apt/lists/partial"
: >"$DIR/.apt/src.sources"
for suite in "$@"; do
    case $suite in
    *-security) uri=http://deb.debian.org/debian-security ;;
    *) uri=http://deb.debian.org/debian ;;
    esac
    cat >>"$DIR/.apt/src.sources" <<SOURCES
Types: deb-src
URIs: $uri
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

SOURCES
done
APT="-o Dir::Etc::SourceList=$DIR/.apt/src.sources -o Dir::Etc::SourceParts=/dev/null \
 -o Dir::State::Lists=$DIR/.apt/lists -o APT::Sandbox::User=root"
cd "$DIR"
# shellcheck disable=SC2086
apt-get -q $APT update >&2
# shellcheck disable=SC2086
apt-get -q $APT source --download-only "$PACKAGE" >&2
rm -rf "$DIR/.apt"
