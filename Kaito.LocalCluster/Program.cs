using Kaito.LocalCluster;
using Kaito.LocalCluster.Apis;
using Kaito.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLocalClusterCommandLine(args);

builder.AddServiceDefaults();
builder.AddLocalCluster();

var app = builder.Build();

app.UseClusterAuthentication();
app.UseWebSockets();
app.MapDefaultEndpoints();
app.MapDiscoveryApi();
app.MapOpenApiV3();
app.MapServiceProxy();
app.MapResourceApi();

app.Run();
