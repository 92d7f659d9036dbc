#!/usr/bin/env bash
# Fetches the pinned lwIP and mbedTLS Debian source packages, verifies them against
# third_party/checksums.sha256 and unpacks them into third_party/src/ (git-ignored).
# Uses a private apt configuration with a deb-src entry derived from this machine's
# own deb entries, so the machine's sources are never rewritten. Idempotent: the stamp names the
# versions and a hash of patches/lwip/*.patch, so a new or changed patch re-prepares the tree
# (cmake/third_party.cmake runs this script at configure time for that reason).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
src_dir="$here/src"
dl_dir="$here/downloads"
patches_sum="$(cat "$here"/patches/lwip/*.patch | sha256sum | cut -c1-16)"
stamp="$src_dir/.fetched-$LWIP_VERSION-$MBEDTLS_VERSION-$patches_sum"

rm -f "$src_dir"/.fetched-*.tmp
if [[ -f "$stamp" ]]; then
    echo "third_party: sources already fetched ($LWIP_VERSION, $MBEDTLS_VERSION)"
    exit 0
fi

apt_root="$here/.apt"
mkdir -p "$apt_root/lists/partial" "$apt_root/cache/archives/partial" "$dl_dir" "$src_dir"

# deb-src lines from the machine's deb822 and one-line sources (deb -> deb-src).
write_private_sources() {
    local out="$apt_root/sources.list"
    : >"$out"
    if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
        python3 "$here/deb822_to_debsrc.py" /etc/apt/sources.list.d/*.sources >>"$out"
    fi
    if [[ -f /etc/apt/sources.list ]]; then
        sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >>"$out"
    fi
    [[ -s "$out" ]] || { echo "third_party: no apt sources found on this machine" >&2; exit 3; }
}

apt_private() {
    apt-get -q -o Dir::Etc::SourceList="$apt_root/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$apt_root/lists" \
        -o Dir::Cache="$apt_root/cache" \
        -o APT::Sandbox::User=root "$@"
}

# Downloads that already match the pinned checksums are reused (re-preparing the tree after a
# patch was added needs no network); otherwise fetch them and verify.
if (cd "$dl_dir" && sha256sum --check --strict --status "$here/checksums.sha256") 2>/dev/null; then
    echo "third_party: reusing the verified downloads in $dl_dir"
else
    write_private_sources
    apt_private update >/dev/null
    (cd "$dl_dir" && apt_private source --download-only \
        "$LWIP_PKG=$LWIP_VERSION" "$MBEDTLS_PKG=$MBEDTLS_VERSION" >/dev/null)
    # Verify every downloaded file against the pinned checksums.
    (cd "$dl_dir" && sha256sum --check --strict "$here/checksums.sha256")
fi

unpack() {
    local pkg="$1" version="$2" dest="$3"
    local dsc
    dsc="$dl_dir/${pkg}_${version#*:}.dsc"
    rm -rf "${src_dir:?}/$dest"
    # Checksums were verified above against our pinned list, so dpkg-source need not
    # check the (unsigned-by-us) .dsc again; it still checks tarballs against the .dsc.
    dpkg-source --no-check -x "$dsc" "$src_dir/$dest" >/dev/null
    rm -f "$src_dir"/*.orig.tar.*
}
unpack "$LWIP_PKG" "$LWIP_VERSION" lwip
unpack "$MBEDTLS_PKG" "$MBEDTLS_VERSION" mbedtls
# Our own small patches on top of Debian's lwIP; each file explains itself.
for p in "$here"/patches/lwip/*.patch; do
    patch -s -p1 -d "$src_dir/lwip" <"$p"
done
rm -f "$src_dir"/.fetched-*
touch "$stamp"
echo "third_party: fetched and verified lwip $LWIP_VERSION, mbedtls $MBEDTLS_VERSION"
