// The resources of infra/main.bicep, in its resource group.
param location string
param tags object
param suffix string
param systemNodeSize string

// The ServiceAccount the provisioner runs as (deploy/kubernetes: namespace kaito-system, name kaito-provisioner).
var provisionerSubject = 'system:serviceaccount:kaito-system:kaito-provisioner'
// Built-in roles: AcrPull for the kubelet's identity; Contributor on the cluster for the provisioner (agent pools).
var acrPullRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
var contributorRole = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b24988ac-6180-42a0-ab88-20f7382dd24c')

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: 'kaito${suffix}'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: {
    adminUserEnabled: false
  }
}

resource cluster 'Microsoft.ContainerService/managedClusters@2024-09-01' = {
  name: 'aks-kaito-${suffix}'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    dnsPrefix: 'kaito-${suffix}'
    enableRBAC: true
    agentPoolProfiles: [
      {
        name: 'system'
        mode: 'System'
        vmSize: systemNodeSize
        count: 2
        osType: 'Linux'
        osSKU: 'AzureLinux'
        type: 'VirtualMachineScaleSets'
      }
    ]
    oidcIssuerProfile: { enabled: true }
    securityProfile: { workloadIdentity: { enabled: true } }
    networkProfile: {
      networkPlugin: 'azure'
      networkPluginMode: 'overlay'
      networkPolicy: 'cilium'
      networkDataplane: 'cilium'
    }
  }
}

resource kubeletPullsFromRegistry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, cluster.id, acrPullRole)
  scope: registry
  properties: {
    roleDefinitionId: acrPullRole
    principalId: cluster.properties.identityProfile.kubeletidentity.objectId
    principalType: 'ServicePrincipal'
  }
}

resource provisioner 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-kaito-provisioner-${suffix}'
  location: location
  tags: tags
}

resource provisionerFederation 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials@2023-01-31' = {
  parent: provisioner
  name: 'kaito-provisioner'
  properties: {
    issuer: cluster.properties.oidcIssuerProfile.issuerURL
    subject: provisionerSubject
    audiences: [ 'api://AzureADTokenExchange' ]
  }
}

resource provisionerManagesAgentPools 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(cluster.id, provisioner.id, contributorRole)
  scope: cluster
  properties: {
    roleDefinitionId: contributorRole
    principalId: provisioner.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output clusterName string = cluster.name
output registryName string = registry.name
output registryEndpoint string = registry.properties.loginServer
output provisionerClientId string = provisioner.properties.clientId
