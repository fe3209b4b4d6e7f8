#!/usr/bin/env sh
# azd's predeploy hook: builds Kaito's images and pushes them to the ACR that `azd provision` made, then writes the
# chart's values for this environment from the provisioning outputs (infra/main.bicep) that azd passes as variables.
set -eu
: "${AZURE_CONTAINER_REGISTRY_ENDPOINT:?run azd provision first}"
: "${AZURE_CONTAINER_REGISTRY_NAME:?}"
: "${AZURE_SUBSCRIPTION_ID:?}"
: "${AZURE_RESOURCE_GROUP:?}"
: "${AZURE_AKS_CLUSTER_NAME:?}"
: "${AZURE_LOCATION:?}"
: "${AZURE_TENANT_ID:?}"
: "${KAITO_PROVISIONER_CLIENT_ID:?}"
cd "$(dirname "$0")/../.."

az acr login --name "$AZURE_CONTAINER_REGISTRY_NAME"
deploy/images/build-images.sh --registry "$AZURE_CONTAINER_REGISTRY_ENDPOINT" ${KAITO_IMAGE_BASE:+--base "$KAITO_IMAGE_BASE"}

cat > deploy/azd/values.generated.yaml <<EOF
# Written by deploy/azd/predeploy.sh for azd environment ${AZURE_ENV_NAME:-}: do not edit.
image:
  registry: ${AZURE_CONTAINER_REGISTRY_ENDPOINT}
provisioner:
  provider: azure
azure:
  subscriptionId: "${AZURE_SUBSCRIPTION_ID}"
  resourceGroup: "${AZURE_RESOURCE_GROUP}"
  clusterName: "${AZURE_AKS_CLUSTER_NAME}"
  location: "${AZURE_LOCATION}"
  tenantId: "${AZURE_TENANT_ID}"
  clientId: "${KAITO_PROVISIONER_CLIENT_ID}"
EOF
