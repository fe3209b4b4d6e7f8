// Kaito for .NET on AKS, as `azd up` provisions it: a resource group with an AKS cluster (OIDC issuer and workload
// identity on), an ACR the cluster pulls from, and the provisioner's user-assigned identity, federated with its
// ServiceAccount (kaito-system/kaito-provisioner, as deploy/kubernetes names it) and allowed to create and delete the
// cluster's agent pools, which is what Azure/gpu-provisioner's identity is given too. GPU agent pools are created later,
// per workspace, by the provisioner: the subscription needs GPU quota in the region (e.g. Standard NCADS_A100_v4 family
// vCPUs for Standard_NC24ads_A100_v4), which new subscriptions do not have.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('The azd environment name: names the resource group and is a tag on every resource.')
param environmentName string

@minLength(1)
@description('The region of every resource; it must offer the GPU SKUs the workspaces ask for.')
param location string

@description('The system pool VM size (the control plane and the webhook run there, not the models).')
param systemNodeSize string = 'Standard_D4s_v5'

var tags = { 'azd-env-name': environmentName }
var suffix = toLower(uniqueString(subscription().id, environmentName, location))

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'kaito-resources'
  scope: group
  params: {
    location: location
    tags: tags
    suffix: suffix
    systemNodeSize: systemNodeSize
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_AKS_CLUSTER_NAME string = resources.outputs.clusterName
output AZURE_CONTAINER_REGISTRY_NAME string = resources.outputs.registryName
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = resources.outputs.registryEndpoint
output KAITO_PROVISIONER_CLIENT_ID string = resources.outputs.provisionerClientId
