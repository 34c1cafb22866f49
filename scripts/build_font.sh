#!/usr/bin/env bash
# Rebuild classroom/fonts/WenQuanYiMicroHei-subset.ttf from Debian's fonts-wqy-microhei.
#
# Usage: scripts/build_font.sh [fonts-wqy-microhei_*.deb]
#   Without an argument the package is fetched with `apt-get download` (no root needed).
# Needs dpkg-deb and fontTools (`pip install fonttools`; a build tool only, not a runtime
# dependency). The upstream "modified" date is kept, so the same fontTools gives the same bytes.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/classroom/fonts/WenQuanYiMicroHei-subset.ttf"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -c "import fontTools" 2>/dev/null || { echo "fontTools is missing: pip install fonttools" >&2; exit 1; }
if [ $# -ge 1 ]; then
  deb="$(realpath "$1")"
else
  (cd "$work" && apt-get download fonts-wqy-microhei >&2)
  deb="$(ls "$work"/fonts-wqy-microhei_*.deb)"
fi
dpkg-deb -x "$deb" "$work/pkg"

# Face 0 of the collection (WenQuanYi Micro Hei; face 1 is the monospaced variant).
"$python" - "$work/pkg/usr/share/fonts/truetype/wqy/wqy-microhei.ttc" "$work/wqy0.ttf" <<'EOF'
import sys
from fontTools.ttLib import TTCollection
TTCollection(sys.argv[1], recalcTimestamp=False).fonts[0].save(sys.argv[2])
EOF

# Latin, Greek, punctuation, symbols, CJK punctuation, enclosed CJK, CJK Ext-A, the basic CJK
# block, compatibility ideographs, vertical and full-width forms; no hinting (ReportLab drops it).
"$python" -m fontTools.subset "$work/wqy0.ttf" \
  --unicodes="U+0020-007E,U+00A0-024F,U+02C6-02DD,U+0391-03C9,U+2000-206F,U+20AC,U+2100-215F,U+2160-217F,U+2190-21FF,U+2460-24FF,U+2500-257F,U+25A0-25FF,U+2600-26FF,U+3000-303F,U+3200-32FF,U+3400-4DBF,U+4E00-9FFF,U+F900-FAFF,U+FE30-FE4F,U+FF00-FFEF" \
  --layout-features='*' --no-hinting --name-IDs='*' --name-legacy --name-languages='*' \
  --output-file="$out"
cp "$work/pkg/usr/share/doc/fonts-wqy-microhei/copyright" "$root/classroom/fonts/COPYRIGHT"
sha256sum "$out"
