#!/bin/sh
# Vendors asciinema-player VERSION from the npm registry (see SOURCE).
set -eu
version=${1:?usage: update.sh VERSION}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack "asciinema-player@$version" >/dev/null 2>&1
want=$(npm view "asciinema-player@$version" dist.integrity)
got="sha512-$(openssl dgst -sha512 -binary "asciinema-player-$version.tgz" | base64 -w0)"
[ "$want" = "$got" ] || { echo "integrity mismatch: registry $want, file $got" >&2; exit 1; }
tar xzf "asciinema-player-$version.tgz"
cp package/dist/bundle/asciinema-player.min.js package/dist/bundle/asciinema-player.css package/LICENSE "$here/"
sed -i "s/asciinema-player [0-9.]*,/asciinema-player $version,/; s/asciinema-player@[0-9.]*/asciinema-player@$version/; s|integrity sha512-.*|integrity $want|" "$here/SOURCE"
echo "asciinema-player $version vendored"
