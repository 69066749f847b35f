#!/bin/sh
# Trunk post-build hook: writes the build's files and a version made from
# their contents into the staged service worker (see service-worker.js), so
# that every build that changes a byte is a new version of the app.
set -eu
cd "$TRUNK_STAGING_DIR"
files=$(find . -type f ! -name service-worker.js | sed 's|^\./||' | LC_ALL=C sort)
version=$(for file in $files; do printf '%s\n' "$file"; cat "$file"; done | sha256sum | cut -c1-16)
list='"./"'
for file in $files; do
  case "$file" in
    index.html) ;;
    *) list="$list, \"$file\"" ;;
  esac
done
sed -i -e "s|__VERSION__|$version|" -e "s|__FILES__|[$list]|" service-worker.js
