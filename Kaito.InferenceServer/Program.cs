using Kaito.InferenceServer;
using Kaito.InferenceServer.Apis;
using Kaito.InferenceServer.Security;
using Kaito.ServiceDefaults;

if (args.FirstOrDefault() == TinyModelCommand.Name)
{
    return TinyModelCommand.Run(args[1..], Console.Out, Console.Error);
}

// appsettings.json sits beside the binary; the working directory may be anywhere (a pod, a test's temp folder).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
try
{
    builder.AddInferenceCommandLine(args);
}
catch (InvalidDataException ex)
{
    Console.Error.WriteLine($"kaito-inference-server: {ex.Message}");
    return 2;
}

try
{
    builder.AddServiceDefaults();
    builder.AddInferenceServer();
}
catch (Exception ex) when (ex is InvalidDataException or IOException or System.Security.Cryptography.CryptographicException)
{
    Console.Error.WriteLine($"kaito-inference-server: {ex.Message}");
    return 2;
}

var app = builder.Build();
KaitoConfigFile.LogIgnoredKeys(app);

app.UseInferenceSecurity();
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
