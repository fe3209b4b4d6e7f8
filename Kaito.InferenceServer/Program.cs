using Kaito.InferenceServer;
using Kaito.InferenceServer.Apis;
using Kaito.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddInferenceServer();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapRootApi();

app.Run();
