#!/usr/bin/env bash
# Builds Kaito's base image from Debian 12 packages, for machines that cannot reach mcr.microsoft.com: the equivalent
# of mcr.microsoft.com/dotnet/runtime-deps:10.0-bookworm-slim-chiseled — the native libraries a self-contained .NET
# app needs (glibc, libstdc++, libgcc, OpenSSL, zlib, CA certificates, time zones, OpenMP for the ML natives) and
# nothing else: no shell, no package manager. It runs as the non-root user `app` (uid 1654, as the chiseled images),
# and nonroot (65532) exists as in distroless, for pods that pin that uid.
#
#   deploy/images/build-base-image.sh [--registry localhost:5001] [--name kaito-runtime-deps] [--tag bookworm] [--tls-verify]
#
# It prints the pushed reference with its digest on its last line; deploy/images/build-images.sh uses it. The layer
# is reproducible: the same packages give the same digest. Needs apt-get, dpkg-deb, tar, gzip, sha256sum and skopeo.
# Registry credentials: skopeo's own (`skopeo login`), or $DOCKER_CONFIG/config.json when DOCKER_CONFIG is set (the
# file the .NET SDK reads when it pushes the component images).
set -euo pipefail

registry=localhost:5001
name=kaito-runtime-deps
tag=bookworm
tls_verify=false
while (($#)); do
    case "$1" in
        --registry) registry=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --tls-verify) tls_verify=true; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "build-base-image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

for tool in apt-get dpkg-deb tar gzip sha256sum skopeo; do
    command -v "$tool" >/dev/null || { echo "build-base-image.sh: $tool is missing (apt-get install skopeo)" >&2; exit 2; }
done

# What runtime-deps installs on Debian 12, plus libgomp1 (OpenMP, which ONNX Runtime and libtorch builds may load).
packages=(libc6 libgcc-s1 libstdc++6 libssl3 zlib1g ca-certificates tzdata libgomp1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs" "$work/debs" "$work/oci/blobs/sha256"

(cd "$work/debs" && apt-get download -qq "${packages[@]}" 2>/dev/null) || {
    echo "build-base-image.sh: apt-get download failed; run 'apt-get update' first" >&2; exit 1; }
for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$rootfs"
done
versions=$(for deb in "$work"/debs/*.deb; do dpkg-deb -f "$deb" Package Version | paste -sd= | tr -d ' ' | sed 's/Version://; s/Package://'; done | sort | paste -sd, -)

# Chiseled: what a running app needs, not the packages' documentation, scripts or tools.
rm -rf "$rootfs"/usr/share/{doc,man,info,lintian,locale,bug} "$rootfs"/usr/sbin "$rootfs"/sbin "$rootfs"/usr/bin "$rootfs"/bin \
    "$rootfs"/usr/lib/x86_64-linux-gnu/gconv "$rootfs"/usr/libexec "$rootfs"/etc/ld.so.conf.d "$rootfs"/var
# ca-certificates ships the certificates; its postinst would build the bundle apps read.
mkdir -p "$rootfs/etc/ssl/certs"
find "$rootfs/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat > "$rootfs/etc/ssl/certs/ca-certificates.crt"
# usrmerge: /lib64 holds the dynamic loader on Debian 12.
for dir in lib lib64; do
    if [ -d "$rootfs/$dir" ] && [ ! -L "$rootfs/$dir" ]; then
        mkdir -p "$rootfs/usr/$dir"; cp -a "$rootfs/$dir"/. "$rootfs/usr/$dir"/; rm -rf "${rootfs:?}/$dir"
    fi
    [ -d "$rootfs/usr/$dir" ] && ln -sfn "usr/$dir" "$rootfs/$dir"
done
ln -sfn /usr/share/zoneinfo/Etc/UTC "$rootfs/etc/localtime"
printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1654:1654:app:/home/app:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:1654:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
mkdir -p "$rootfs/tmp" "$rootfs/home/app" "$rootfs/home/nonroot" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
chmod 755 "$rootfs/home/app" "$rootfs/home/nonroot"
chmod 700 "$rootfs/root"

# One reproducible layer: sorted, numeric root ownership (home folders owned by their users), fixed times.
find "$rootfs" -exec touch -h -d @0 {} +
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" --exclude=./home/app --exclude=./home/nonroot -cf "$work/layer.tar" .
tar --numeric-owner --owner=1654 --group=1654 --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" -rf "$work/layer.tar" ./home/app
tar --numeric-owner --owner=65532 --group=65532 --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$rootfs" -rf "$work/layer.tar" ./home/nonroot
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"
layer_digest=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$work/oci/blobs/sha256/$layer_digest"

blob() { # writes stdin as a blob, prints "digest size"
    local tmp=$work/blob; cat > "$tmp"
    local digest; digest=$(sha256sum "$tmp" | cut -d' ' -f1)
    mv "$tmp" "$work/oci/blobs/sha256/$digest"; echo "$digest $(stat -c %s "$work/oci/blobs/sha256/$digest")"
}

read -r config_digest config_size < <(printf '%s' "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"1970-01-01T00:00:00Z\",\
\"config\":{\"User\":\"1654\",\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"APP_UID=1654\",\
\"DOTNET_RUNNING_IN_CONTAINER=true\",\"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true\"],\"WorkingDir\":\"/\",\
\"Labels\":{\"org.opencontainers.image.title\":\"$name\",\"org.opencontainers.image.description\":\"runtime-deps for self-contained .NET apps, from Debian 12 packages\",\
\"org.opencontainers.image.version\":\"$tag\",\"sh.kaito.debian-packages\":\"$versions\"}},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]},\
\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"deploy/images/build-base-image.sh\"}]}" | blob)

read -r manifest_digest manifest_size < <(printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config_digest\",\"size\":$config_size},\
\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$layer_digest\",\"size\":$layer_size}]}" | blob)

printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"digest\":\"sha256:$manifest_digest\",\"size\":$manifest_size,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},\
\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}}]}" > "$work/oci/index.json"

echo "Pushing $registry/$name:$tag ($((layer_size / 1024 / 1024)) MiB compressed) ..." >&2
auth=()
[ -n "${DOCKER_CONFIG:-}" ] && [ -f "$DOCKER_CONFIG/config.json" ] && auth=(--dest-authfile "$DOCKER_CONFIG/config.json")
skopeo copy --quiet --dest-tls-verify="$tls_verify" "${auth[@]}" "oci:$work/oci:$tag" "docker://$registry/$name:$tag" >&2
echo "$registry/$name:$tag@sha256:$manifest_digest"
