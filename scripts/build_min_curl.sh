#!/bin/sh
# A libcurl for the podprof-sampler image with only what `podprof export` uses: HTTP/1.1 and
# HTTPS with OpenSSL, over TCP or a unix socket, zlib, proxies. It is built from Debian's own
# source package (so Debian's security patches are in), with the openssl flavour's patch set and
# configure line minus every protocol and library the exporter never needs: LDAP, RTMP (which
# brings GnuTLS), SSH, IDN, PSL, GSS-API/Kerberos, brotli, HTTP/2. Same SONAME and symbol versions
# (CURL_OPENSSL_4) as Debian's libcurl4, so build/bin/podprof, linked against that, loads it.
#
#   scripts/build_min_curl.sh        prints the directory holding libcurl.so.4 (built if needed)
#
# Built once per Debian version and option set into ~/.cache/podprof; nothing on the machine is
# changed (the source is fetched with a private apt configuration).
set -eu

CACHE="${PODPROF_CACHE:-$HOME/.cache/podprof}"
VERSION=$(dpkg-query -W -f='${Version}' libcurl4-openssl-dev)
OPTIONS="--disable-dependency-tracking --enable-shared --disable-static --enable-versioned-symbols
 --enable-threaded-resolver --with-openssl --with-zlib --with-ca-path=/etc/ssl/certs
 --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --disable-manual --disable-ldap
 --disable-ldaps --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3
 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-ftp
 --disable-file --without-librtmp --without-libssh2 --without-libssh --without-libidn2
 --without-libpsl --without-gssapi --without-brotli --without-zstd --without-nghttp2
 --without-ngtcp2 --without-nghttp3"
KEY=$(printf '%s\n%s\n' "$VERSION" "$OPTIONS" | sha256sum | cut -c1-12)
OUT="$CACHE/curl-min-$KEY"
if [ -e "$OUT/libcurl.so.4" ]; then
    echo "$OUT"
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$(dirname "$0")/debian_source.sh" "$WORK" "curl=$VERSION" bookworm bookworm-updates \
    bookworm-security
cd "$WORK"
dpkg-source -x curl_*.dsc >&2
cd curl-*/
# Debian's openssl flavour: every patch but the last two (GnuTLS and NSS flavours).
for p in $(grep -v '^#' debian/patches/series | grep . | tail -n 2 | tac); do
    patch -s -R -p1 < "debian/patches/$p"
done
autoreconf -fi >&2
# shellcheck disable=SC2086
./configure $OPTIONS CFLAGS="-O2 -g0" >&2
make -s -C lib -j"$(nproc)" >&2
mkdir -p "$OUT.tmp"
cp -L lib/.libs/libcurl.so.4 "$OUT.tmp/libcurl.so.4"
strip --strip-unneeded "$OUT.tmp/libcurl.so.4"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
