using System.Diagnostics.Metrics;
using Kaito.ServiceDefaults;

namespace Kaito.Tuner;

/// <summary>The tuner's telemetry, named <c>Kaito.Tuner</c>: loss, learning rate, step time and tokens/s.</summary>
public sealed class TunerTelemetry : ComponentTelemetry
{
    public const string Name = "Kaito.Tuner";

    private readonly Histogram<double> _loss;
    private readonly Histogram<double> _stepTime;
    private readonly Histogram<double> _tokensPerSecond;
    private readonly Counter<long> _steps;
    private double _learningRate;

    public TunerTelemetry(IMeterFactory meterFactory)
        : base(Name, meterFactory)
    {
        _loss = Meter.CreateHistogram<double>("kaito.tuner.loss", description: "Training loss per optimizer step.");
        _stepTime = Meter.CreateHistogram<double>("kaito.tuner.step.duration", "s", "Time per optimizer step.");
        _tokensPerSecond = Meter.CreateHistogram<double>("kaito.tuner.tokens_per_second", "{token}/s", "Training tokens per second.");
        _steps = Meter.CreateCounter<long>("kaito.tuner.steps", "{step}", "Optimizer steps completed.");
        Meter.CreateObservableGauge("kaito.tuner.learning_rate", () => _learningRate, description: "Current learning rate.");
    }

    public void StepCompleted(double loss, double learningRate)
    {
        _loss.Record(loss);
        _steps.Add(1);
        _learningRate = learningRate;
    }

    public void Throughput(double tokensPerSecond, double secondsPerStep)
    {
        _tokensPerSecond.Record(tokensPerSecond);
        _stepTime.Record(secondsPerStep);
    }
}
