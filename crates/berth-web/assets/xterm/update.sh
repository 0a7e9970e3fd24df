#!/bin/sh
# Vendors xterm.js VERSION from the npm registry (see SOURCE).
set -eu
version=${1:?usage: update.sh VERSION}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack "@xterm/xterm@$version" >/dev/null
want=$(npm view "@xterm/xterm@$version" dist.integrity)
got="sha512-$(openssl dgst -sha512 -binary "xterm-xterm-$version.tgz" | base64 -w0)"
[ "$want" = "$got" ] || { echo "integrity mismatch: registry $want, file $got" >&2; exit 1; }
tar xzf "xterm-xterm-$version.tgz"
sed 's|//# sourceMappingURL=xterm.js.map||' package/lib/xterm.js > "$here/xterm.js"
cp package/css/xterm.css package/LICENSE "$here/"
sed -i "s/xterm.js [0-9.]*,/xterm.js $version,/; s/@xterm\/xterm@[0-9.]*/@xterm\/xterm@$version/; s|integrity sha512-.*|integrity $want|; s/xterm.js [0-9.]* from/xterm.js $version from/" "$here/SOURCE"
echo "xterm.js $version vendored"
