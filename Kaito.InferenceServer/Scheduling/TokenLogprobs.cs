using System.Text;
using Kaito.InferenceServer.Engine;

namespace Kaito.InferenceServer.Scheduling;

/// <summary>One alternative token: its text, UTF-8 bytes and log probability.</summary>
public sealed record TopLogprob(string Token, byte[] Bytes, double Logprob);

/// <summary>A generated token's log probability and the most likely alternatives at its position (most likely first).</summary>
public sealed record TokenLogprob(string Token, byte[] Bytes, double Logprob, IReadOnlyList<TopLogprob> Top);

/// <summary>
/// Log probabilities as vLLM reports them: log-softmax of the model's raw logits (before temperature, top-p and top-k),
/// so they describe the model, not the sampler.
/// </summary>
public static class TokenLogprobs
{
    /// <summary>Most alternatives a request may ask for (OpenAI's limit).</summary>
    public const int MaxTop = 20;

    public static TokenLogprob Of(ILanguageModel model, ReadOnlySpan<float> logits, int token, int top)
    {
        ArgumentNullException.ThrowIfNull(model);
        var max = float.NegativeInfinity;
        foreach (var value in logits)
        {
            max = Math.Max(max, value);
        }

        var sum = 0.0;
        foreach (var value in logits)
        {
            sum += Math.Exp(value - max);
        }

        var logZ = max + Math.Log(sum);
        var best = Top(logits, Math.Clamp(top, 0, MaxTop));
        var alternatives = new TopLogprob[best.Count];
        for (var i = 0; i < best.Count; i++)
        {
            var text = model.Decode([best[i]]);
            alternatives[i] = new TopLogprob(text, Encoding.UTF8.GetBytes(text), logits[best[i]] - logZ);
        }

        var chosen = model.Decode([token]);
        return new TokenLogprob(chosen, Encoding.UTF8.GetBytes(chosen), logits[token] - logZ, alternatives);
    }

    /// <summary>The indices of the <paramref name="count"/> largest logits, largest first (ties: the lower id first).</summary>
    private static List<int> Top(ReadOnlySpan<float> logits, int count)
    {
        var best = new List<int>(count + 1);
        if (count == 0)
        {
            return best;
        }

        for (var i = 0; i < logits.Length; i++)
        {
            if (best.Count == count && logits[i] <= logits[best[^1]])
            {
                continue;
            }

            var at = best.Count;
            while (at > 0 && logits[i] > logits[best[at - 1]])
            {
                at--;
            }

            best.Insert(at, i);
            if (best.Count > count)
            {
                best.RemoveAt(count);
            }
        }

        return best;
    }
}
