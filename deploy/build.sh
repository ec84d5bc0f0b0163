#!/usr/bin/env bash
# Builds the geocluster image with no registry access: static binaries
# (CGO_ENABLED=0) built on this host from the Go module cache, the NATS
# server among them (from the nats-server module in go.mod), copied into an
# image FROM scratch (deploy/Dockerfile). The image is tagged $GEO_IMAGE
# (geocluster:local); docker-compose.yml runs every container from it.
#
#   deploy/build.sh            # build the binaries and the image
#   GEO_IMAGE=geo:dev deploy/build.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
image=${GEO_IMAGE:-geocluster:local}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

cmds=(scheduler worker cache replicator monitor geoctl geohealth)
pkgs=(github.com/nats-io/nats-server/v2)
for c in "${cmds[@]}"; do pkgs+=("./cmd/$c"); done

mkdir -p "$ctx/bin" "$ctx/data" "$ctx/tmp"
chmod 1777 "$ctx/tmp"
cp "$root/deploy/Dockerfile" "$root/deploy/nats/nats.conf" "$ctx/"
start=$(date +%s)
(cd "$root" && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$ctx/bin/" "${pkgs[@]}")
echo "build.sh: built ${cmds[*]} nats-server in $(( $(date +%s) - start ))s"
docker build -q -t "$image" "$ctx" >/dev/null
echo "build.sh: image $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
