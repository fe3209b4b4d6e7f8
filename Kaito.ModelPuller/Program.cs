using Kaito.ModelPuller;
using Kaito.ServiceDefaults;

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddCommandLine(args, PullerHost.SwitchMappings);
builder.AddServiceDefaults();
builder.Services.AddOptions<PullerOptions>().Bind(builder.Configuration.GetSection(PullerOptions.SectionName));
builder.Services.AddSingleton<ModelPull>();
builder.Services.AddSingleton<IRegistryIdentity>(services => new AcrIdentity(services.GetRequiredService<HttpClient>(), AcrIdentity.DefaultCredential(),
    services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PullerOptions>>().Value.AcrRegistries, services.GetRequiredService<ILogger<AcrIdentity>>()));
builder.Services.AddSingleton<Kaito.ModelPuller.HuggingFace.HubPull>();
// Redirects are followed (registries hand blobs to storage); HttpClient drops Authorization on them.
builder.Services.AddSingleton(_ => new HttpClient { Timeout = TimeSpan.FromMinutes(10) });

using var host = builder.Build();
return await PullerHost.RunAsync(host);
