using Kaito.ServiceDefaults;
using Kaito.Tuner;

// `decode` prints the tuner's own greedy decode of a prompt with an adapter; `download` only fetches
// tuning.input.urls (the Job's data-downloader init container); `prepare-natives` makes libtorch loadable beside the
// tuner once, at image build, since an image's /app is read-only at run time; anything else trains.
if (args.FirstOrDefault() == AdapterDecode.Command)
{
    return AdapterDecode.Run(args[1..], Console.Out, Console.Error);
}

if (args.FirstOrDefault() == "prepare-natives")
{
    Console.WriteLine(Kaito.Tuner.Training.LibTorchLoader.Prepare());
    return 0;
}

var download = args.FirstOrDefault() == TunerExtensions.DownloadCommand;
var builder = Host.CreateApplicationBuilder(download ? args[1..] : args);
builder.Configuration.AddTunerCommandLine(download ? args[1..] : args);

builder.AddServiceDefaults();
builder.AddTuner();

using var host = builder.Build();
return download ? await host.RunDownloadAsync() : await host.RunTuningJobAsync();
