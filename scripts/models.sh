#!/usr/bin/env bash
# Downloads the ONNX models Hoviyat uses from their official sources, pinned
# to the commits recorded in the models' PROVENANCE, and verifies their
# SHA-256. Files already present with the right checksum are skipped; a
# checksum mismatch fails loudly and leaves no file behind.
#
#   scripts/models.sh [DIR]          download into DIR (default ./models)
#   scripts/models.sh --check [DIR]  only verify what is in DIR
#
# Environment:
#   MODELS_BASE  fetch every file as $MODELS_BASE/<file name> instead of from
#                GitHub (a mirror, or file:///path for an offline copy)
#
# Then: export HOVIYAT_MODELS=DIR
set -euo pipefail

check_only=0
if [ "${1:-}" = "--check" ]; then
  check_only=1
  shift
fi
dest=${1:-./models}
base=${MODELS_BASE:-}

# file name | sha256 | repository | commit | path in the repository | licence
models=(
  "face_detection_yunet_2023mar.onnx|8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4|ShiqiYu/libfacedetection.train|2b5e61dee21441ef4676505f835ab63ee53bae1e|onnx/yunet_s_640_640.onnx|Apache-2.0"
  "mobilefacenet_foamliu_opset10.onnx|8cba0c9041fefd5a8bcc74b5756856a4fdc7fd4a4b3b330a1adb436ca39c7c8e|luisabreu99/Facegate|9e9b97d37afc4ff9924cbc2f72a9cb9670e17ea6|models/MobileFaceNet.onnx|MIT (weights: foamliu/MobileFaceNet, Apache-2.0; trained on MS-Celeb-1M, see PROVENANCE)"
  "2.7_80x80_MiniFASNetV2.onnx|35de6f455b37a0bce6a242665cc32ac63cd34a232c37329a0418d138efc876e3|MachineLP/Silent-Face-Anti-Spoofing|4c57a782de755847ca4d236944680db5b87ed429|anti_spoof_models/2.7_80x80_MiniFASNetV2.onnx|Apache-2.0"
  "4_0_0_80x80_MiniFASNetV1SE.onnx|0df893870e74ab32904cbcdf0e3605282b37b1937c6d33e903e7cc772920a1b5|MachineLP/Silent-Face-Anti-Spoofing|4c57a782de755847ca4d236944680db5b87ed429|anti_spoof_models/4_0_0_80x80_MiniFASNetV1SE.onnx|Apache-2.0"
)

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

fetch() { # url out
  curl -fsSL --retry 3 --connect-timeout 20 --max-time 600 -o "$2" "$1"
}

tmp=""
trap '[ -n "$tmp" ] && rm -f "$tmp"' EXIT

if [ "$check_only" = 0 ]; then
  command -v curl >/dev/null 2>&1 || { echo "models.sh: curl is required" >&2; exit 1; }
  mkdir -p "$dest"
fi
failed=0
for m in "${models[@]}"; do
  IFS='|' read -r name sum repo commit path licence <<<"$m"
  target="$dest/$name"
  if [ -f "$target" ]; then
    have=$(sha256 "$target")
    if [ "$have" = "$sum" ]; then
      echo "models.sh: $name ok (present, checksum verified)"
      continue
    fi
    echo "models.sh: $name is present but its sha256 is $have, want $sum" >&2
  elif [ "$check_only" = 1 ]; then
    echo "models.sh: $name missing from $dest" >&2
  fi
  if [ "$check_only" = 1 ]; then
    failed=1
    continue
  fi

  if [ -n "$base" ]; then
    url="${base%/}/$name"
  else
    url="https://raw.githubusercontent.com/$repo/$commit/$path"
  fi
  tmp=$(mktemp "$dest/.$name.XXXXXX")
  echo "models.sh: downloading $name from $url"
  if ! fetch "$url" "$tmp"; then
    echo "models.sh: DOWNLOAD FAILED: $url" >&2
    rm -f "$tmp"; tmp=""
    failed=1
    continue
  fi
  got=$(sha256 "$tmp")
  # A file kept in Git LFS comes back from raw.githubusercontent.com as a
  # small pointer: fetch the content from the LFS media host instead.
  if [ "$got" != "$sum" ] && [ -z "$base" ] && head -c 200 "$tmp" | grep -q "git-lfs"; then
    url="https://media.githubusercontent.com/media/$repo/$commit/$path"
    echo "models.sh: $name is stored in Git LFS; downloading from $url"
    if fetch "$url" "$tmp"; then got=$(sha256 "$tmp"); fi
  fi
  if [ "$got" != "$sum" ]; then
    echo "models.sh: CHECKSUM MISMATCH for $name from $url" >&2
    echo "models.sh:   got  $got" >&2
    echo "models.sh:   want $sum" >&2
    rm -f "$tmp"; tmp=""
    failed=1
    continue
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$target"
  tmp=""
  echo "models.sh: $name downloaded and verified ($licence)"
done

if [ "$failed" != 0 ]; then
  echo "models.sh: FAILED: some models are missing or do not match their published checksums (see above)" >&2
  exit 1
fi
echo "models.sh: all models verified in $dest"
echo "models.sh: export HOVIYAT_MODELS=$(cd "$dest" && pwd)"
