using Kaito.Operator.Kubernetes;
using Kaito.Provisioner;
using Kaito.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddKubernetesCommandLine(args);
builder.Configuration.AddCommandLine(args, NodeProvisionerExtensions.SwitchMappings.ToDictionary());

builder.UseDefaultPort(DefaultPorts.Provisioner);
builder.AddServiceDefaults();
builder.AddKubernetesClient();
builder.AddNodeProvisioner();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
