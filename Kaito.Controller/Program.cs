using Kaito.Controller;
using Kaito.Controller.Webhooks;
using Kaito.Operator.Kubernetes;
using Kaito.ServiceDefaults;

if (args is ["print-webhook-configuration", .. var rest])
{
    return WebhookConfigurationCommand.Run(rest, Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddKubernetesCommandLine(args);
builder.Configuration.AddCommandLine(args, WorkspaceControllerExtensions.SwitchMappings.ToDictionary());

builder.UseDefaultPort(DefaultPorts.Controller);
builder.AddServiceDefaults();
builder.AddKubernetesClient();
builder.AddWorkspaceController();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
return 0;
