namespace Kaito.InferenceServer.Scheduling;

/// <summary>
/// Finds stop sequences in streamed text without ever emitting part of one: text that could still turn into a stop
/// sequence is held back until the next token decides it.
/// </summary>
internal sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private readonly System.Text.StringBuilder _pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns what may be emitted now. After a match, returns the text before it.</summary>
    public string Push(string text)
    {
        if (stops.Count == 0)
        {
            return text;
        }

        _pending.Append(text);
        var pending = _pending.ToString();
        var cut = -1;
        foreach (var stop in stops)
        {
            var index = pending.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (cut < 0 || index < cut))
            {
                cut = index;
            }
        }

        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return pending[..cut];
        }

        var hold = HeldBackLength(pending);
        _pending.Remove(0, pending.Length - hold);
        return pending[..^hold];
    }

    /// <summary>Whatever is still held back, once generation ended without a match.</summary>
    public string Flush()
    {
        var rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }

    /// <summary>The longest suffix of <paramref name="text"/> that is a proper prefix of some stop sequence.</summary>
    private int HeldBackLength(string text)
    {
        var longest = 0;
        foreach (var stop in stops)
        {
            for (var length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                // the last character decides most candidates without a comparison of the whole span
                if (stop[length - 1] == text[^1] && text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }
}
