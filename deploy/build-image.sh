#!/usr/bin/env bash
# Builds the tenantjwt container image with podman (or $CONTAINER_CLI):
#
#   deploy/build-image.sh [IMAGE]        # default IMAGE: tenantjwt:dev
#
# The binary is compiled here on the host, static (CGO_ENABLED=0), and
# copied with the host's CA bundle into a FROM scratch image, so the build
# pulls nothing from a registry. GOARCH selects the target architecture
# (default: the host's). CA_BUNDLE overrides the certificate bundle.
set -euo pipefail

image="${1:-tenantjwt:dev}"
cli="${CONTAINER_CLI:-podman}"
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${GOARCH:-$(go env GOARCH)}"
bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
  go build -trimpath -ldflags='-s -w' -o "$ctx/tenantjwt" ./cmd/tenantjwt)
cp "$bundle" "$ctx/ca-certificates.crt"
cp "$root/deploy/Dockerfile" "$ctx/Dockerfile"

version=unknown
if [ "$arch" = "$(go env GOHOSTARCH)" ] && [ "$(go env GOHOSTOS)" = linux ]; then
  version="$("$ctx/tenantjwt" version | sed -n '1s/^tenantjwt //p')"
fi

"$cli" build --quiet --platform "linux/$arch" --build-arg "VERSION=$version" \
  -t "$image" -f "$ctx/Dockerfile" "$ctx" >/dev/null
echo "$image"
