#!/usr/bin/env bash
# Regenerates the README's report images (docs/images/*.png): the first page of the
# executive and detailed reports of three real Trivy scans, rendered offline by exportctl
# (SOURCE_DATE_EPOCH fixed, so the same code gives the same pictures) and rasterised by
# poppler's pdftoppm at 60 dpi. Needs a built exportctl (EXPORTCTL_BIN, default
# target/debug/exportctl) and poppler-utils.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EXPORTCTL_BIN:-target/debug/exportctl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=(
  tests/fixtures/real/trivy/trivy-golden_alpine-310.json
  tests/fixtures/real/trivy/trivy-golden_debian-stretch_2021-10-04.json
  tests/fixtures/real/trivy/trivy-golden_centos-7.json
)
for template in compliance-executive compliance-detailed; do
  SOURCE_DATE_EPOCH=1733011200 "$bin" render --input "${inputs[@]}" --format pdf \
    --template "$template" --tenant acme-corp --requested-by "ciso@acme.example" \
    --output "$work/$template.pdf" > /dev/null
  pdftoppm -r 60 -f 1 -l 1 -png -singlefile "$work/$template.pdf" "docs/images/$template-1"
done
echo "docs/images/compliance-executive-1.png docs/images/compliance-detailed-1.png"
