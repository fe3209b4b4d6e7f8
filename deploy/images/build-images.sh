#!/usr/bin/env bash
# Builds Kaito's container images with the .NET SDK's container support (no Docker daemon) and pushes them:
# kaito-controller, kaito-provisioner, kaito-inference-server, kaito-tuner and kaito-model-puller, self-contained on a
# runtime-deps base, tagged with the version (Directory.Build.props), labelled with source and revision.
#
#   deploy/images/build-images.sh [--registry localhost:5001] [--local-base | --base <image>] [--gpu] [--only <image>]...
#
#   --registry    where to push (ACR in Azure: <name>.azurecr.io after `az acr login`); default localhost:5001
#   --local-base  build the base from Debian packages first (deploy/images/build-base-image.sh) and use it: for machines
#                 that cannot reach mcr.microsoft.com. Default base: mcr.microsoft.com/dotnet/runtime-deps:10.0-bookworm-slim-chiseled
#   --base        a base image of your own (a runtime-deps equivalent)
#   --gpu         the CUDA variants of the inference server and tuner instead (-p:KaitoGpu=true, tags <version>-cuda,
#                 base nvidia/cuda); needs the CUDA packages on the NuGet feed
#   --only        build only the named image (repeatable)
#   --output      where the builds, the published apps and images.txt go; default artifacts/images (the projects'
#                 own bin/ and obj/ are left alone, so a build here never disturbs a running dev build)
#
# Prints one line per image, `<registry>/<repository>:<tag>@<digest>`, and writes them to <output>/images.txt.
# Registry credentials: the .NET SDK reads $DOCKER_CONFIG/config.json (else ~/.docker/config.json), as docker login
# writes it; for ACR, `az acr login --name <acr>` does.
set -euo pipefail
cd "$(dirname "$0")/../.."

registry=localhost:5001
base=""
local_base=false
gpu=false
only=()
output=artifacts/images
while (($#)); do
    case "$1" in
        --registry) registry=$2; shift 2 ;;
        --base) base=$2; shift 2 ;;
        --local-base) local_base=true; shift ;;
        --gpu) gpu=true; shift ;;
        --only) only+=("$2"); shift 2 ;;
        --output) output=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "build-images.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

declare -A projects=(
    [kaito-controller]=Kaito.Controller
    [kaito-provisioner]=Kaito.Provisioner
    [kaito-inference-server]=Kaito.InferenceServer
    [kaito-tuner]=Kaito.Tuner
    [kaito-model-puller]=Kaito.ModelPuller
)
order=(kaito-controller kaito-provisioner kaito-model-puller kaito-inference-server kaito-tuner)
((${#only[@]})) && order=("${only[@]}")
for image in "${order[@]}"; do
    [ -n "${projects[$image]:-}" ] || { echo "build-images.sh: no image '$image' (${!projects[*]})" >&2; exit 2; }
done

if $local_base; then
    base=$(deploy/images/build-base-image.sh --registry "$registry" | tail -n 1)
    base=${base%@*}
fi

mkdir -p "$output"
output=$(cd "$output" && pwd)
images_file=$output/images.txt
: > "$images_file"
revision=$(git rev-parse HEAD 2>/dev/null || true)
for image in "${order[@]}"; do
    project=${projects[$image]}
    args=(-c Release -r linux-x64 --self-contained -t:PublishContainer -nologo -v:minimal --artifacts-path "$output/build"
          "-p:ContainerRegistry=$registry" "-p:KaitoImagesFile=$images_file" "-p:SourceRevisionId=$revision")
    [ -n "$base" ] && args+=("-p:ContainerBaseImage=$base")
    if $gpu; then
        case "$image" in
            kaito-inference-server|kaito-tuner) args+=(-p:KaitoGpu=true) ;;
            *) continue ;;
        esac
    fi
    echo "Building $image from $project ..." >&2
    # localhost registries speak plain HTTP; the SDK allows them as insecure
    DOTNET_CONTAINER_INSECURE_REGISTRIES=${DOTNET_CONTAINER_INSECURE_REGISTRIES:-$registry} \
        dotnet publish "$project/$project.csproj" "${args[@]}" >&2
done
cat "$images_file"
