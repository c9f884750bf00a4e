#!/bin/sh
# Runs this image's Hitrail program from its TypeScript source, with tsx's loader.
#   tracker, api and worker images: the server (`hitrail`, the image's command);
#   cli image: the operator CLI — `hitrail migrate`, `hitrail doctor`, `hitrail workspace create …`.
# HITRAIL_APP is set by the image; TSX_LOADER and HITRAIL_ROOT only change for tests.
set -eu
: "${HITRAIL_APP:?HITRAIL_APP is not set: which app this image runs}"
exec node --import "${TSX_LOADER:-/opt/tsx/node_modules/tsx/dist/loader.mjs}" \
  "${HITRAIL_ROOT:-/app}/apps/${HITRAIL_APP}/src/main.ts" "$@"
