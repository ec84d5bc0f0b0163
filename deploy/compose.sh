#!/usr/bin/env bash
# Runs docker compose on the project's docker-compose.yml with whichever
# compose the machine has: the `docker compose` plugin, else the older
# `docker-compose`. It fills in GEO_DATA_DIR (the folder of GeoTIFFs the
# workers read by path, mounted read-only at the same path in the
# containers) with ../shared/data beside the project when that exists.
#
#   deploy/compose.sh up -d                # any compose arguments
#   deploy/compose.sh up -d --scale worker=3
#   deploy/compose.sh logs -f worker
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GEO_DATA_DIR:-}" ] && [ -d "$root/../shared/data" ]; then
  GEO_DATA_DIR=$(cd "$root/../shared/data" && pwd)
  export GEO_DATA_DIR
fi
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "compose.sh: neither 'docker compose' nor 'docker-compose' is installed" >&2
  exit 1
fi
exec "${compose[@]}" --project-directory "$root" -f "$root/docker-compose.yml" "$@"
