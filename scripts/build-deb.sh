#!/bin/sh
# `make deb`: build dist/smoothdesk_<version>_<arch>.deb with dpkg-buildpackage from debian/.
# It builds in a copy (build/deb/) of the files git knows (tracked, and new ones not ignored), so
# the checkout's .venv, caches and build products never enter the package, and dpkg-buildpackage's
# by-products (.buildinfo, .changes) land in build/ instead of the checkout's parent directory.
# It writes dist/.deb-inputs: a hash of those files, which the tests use to reuse a fresh build.
# usage: scripts/build-deb.sh            build
#        scripts/build-deb.sh --inputs   print that hash for the current files, build nothing
set -eu
cd "$(dirname "$0")/.."
# The files git knows, tracked and new, that exist (a deleted tracked file is left out); not the
# tests, benchmarks and docs, which the package does not hold, so editing them reuses the build.
list_inputs() {
    git ls-files -z --cached --others --exclude-standard -- . ':!tests' ':!bench' ':!docs' |
        xargs -0 sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' _
}
inputs_hash() {
    tar --null -T "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - | sha256sum | cut -d' ' -f1
}
if [ "${1-}" = --inputs ]; then
    files=$(mktemp)
    list_inputs >"$files"
    inputs_hash "$files"
    rm -f "$files"
    exit 0
fi
for tool in dpkg-buildpackage dh dh_virtualenv; do
    command -v $tool >/dev/null || { echo "error: $tool missing (make deb installs it with apt)" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
pyversion=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
[ "$version" = "$pyversion" ] || {
    echo "error: debian/changelog says $version, pyproject.toml says $pyversion: add a changelog entry" >&2
    exit 1
}
stage=build/deb
rm -rf "$stage"
mkdir -p "$stage/smoothdesk-$version" dist
files=$(mktemp)
trap 'rm -f "$files"' EXIT
list_inputs >"$files"
inputs=$(inputs_hash "$files")
tar --null -T "$files" -cf - | tar -xf - -C "$stage/smoothdesk-$version"
echo "building smoothdesk $version for $arch in $stage (a few minutes: the wheels come from PyPI)"
(cd "$stage/smoothdesk-$version" && dpkg-buildpackage -b -us -uc) >"$stage/build.log" 2>&1 || {
    tail -40 "$stage/build.log" >&2
    echo "error: dpkg-buildpackage failed; the whole log is $stage/build.log" >&2
    exit 1
}
deb=smoothdesk_${version}_${arch}.deb
mv "$stage/$deb" dist/
echo "$inputs" >dist/.deb-inputs
echo "wrote dist/$deb ($(du -h "dist/$deb" | cut -f1))"
