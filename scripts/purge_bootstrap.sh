#!/bin/sh
# Rebuilds static/vendor/bootstrap/bootstrap.purged.min.css: Bootstrap's CSS (from the npm registry) less the
# rules that templates/, static/js/, classroom/ and courses/ never use (PurgeCSS, scripts/purgecss.config.cjs).
# Run it after a template starts using a Bootstrap class it did not use before (tests/test_assets.py says so).
# Needs node and npm; nothing is installed into the project.
set -eu
BOOTSTRAP=5.3.9
PURGECSS=8.0.0
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "bootstrap@$BOOTSTRAP" >/dev/null
tar xzf "bootstrap-$BOOTSTRAP.tgz"
npm install --silent --no-save --no-audit --no-fund "purgecss@$PURGECSS" >/dev/null
cd "$root"
"$work/node_modules/.bin/purgecss" --config scripts/purgecss.config.cjs \
  --css "$work/package/dist/css/bootstrap.min.css" --output "$work/out"
# one file, its licence banner kept, the source map comment dropped (no map is shipped)
sed -e 's|/\*# sourceMappingURL=[^*]*\*/||' "$work/out/bootstrap.min.css" \
  > static/vendor/bootstrap/bootstrap.purged.min.css
wc -c static/vendor/bootstrap/bootstrap.purged.min.css
