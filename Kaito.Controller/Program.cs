using Kaito.Controller;
using Kaito.Operator.Kubernetes;
using Kaito.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddKubernetesCommandLine(args);
builder.Configuration.AddCommandLine(args, WorkspaceControllerExtensions.SwitchMappings.ToDictionary());

builder.AddServiceDefaults();
builder.AddKubernetesClient();
builder.AddWorkspaceController();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
