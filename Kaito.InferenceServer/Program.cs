using Kaito.InferenceServer;
using Kaito.InferenceServer.Apis;
using Kaito.ServiceDefaults;

if (args.FirstOrDefault() == TinyModelCommand.Name)
{
    return TinyModelCommand.Run(args[1..], Console.Out, Console.Error);
}

// appsettings.json sits beside the binary; the working directory may be anywhere (a pod, a test's temp folder).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddInferenceCommandLine(args);

builder.AddServiceDefaults();
builder.AddInferenceServer();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapRootApi();
app.MapChatCompletionsApi();
app.MapCompletionsApi();
app.MapModelsApi();
app.MapLegacyChatApi();
app.MapTokenizeApi();
app.MapMetricsApi();

app.Run();
return Environment.ExitCode;
