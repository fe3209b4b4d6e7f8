using Kaito.ServiceDefaults;
using Kaito.Tuner;

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddTunerCommandLine(args);

builder.AddServiceDefaults();
builder.AddTuner();

using var host = builder.Build();
return await host.RunTuningJobAsync();
