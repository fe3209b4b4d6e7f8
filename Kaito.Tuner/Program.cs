using Kaito.ServiceDefaults;
using Kaito.Tuner;

// `download` only fetches tuning.input.urls (the Job's data-downloader init container); anything else trains.
var download = args.FirstOrDefault() == TunerExtensions.DownloadCommand;
var builder = Host.CreateApplicationBuilder(download ? args[1..] : args);
builder.Configuration.AddTunerCommandLine(download ? args[1..] : args);

builder.AddServiceDefaults();
builder.AddTuner();

using var host = builder.Build();
return download ? await host.RunDownloadAsync() : await host.RunTuningJobAsync();
