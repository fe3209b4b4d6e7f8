using System.Diagnostics;
using System.Text;

namespace Kaito.Testing;

/// <summary>
/// A small mutational fuzzer for the parsers of untrusted bytes: from valid seed inputs it derives a fixed number of
/// inputs (seeded, so a run is repeatable and a failure reproducible) by flipping bits, writing boundary bytes and
/// format tokens, deleting, duplicating, truncating and splicing; each input must parse or be refused with an
/// expected exception. Anything else — another exception type, or a crash of the process under test — fails the test
/// with the input (base64) and its index.
/// </summary>
public static class Fuzzer
{
    private static readonly byte[][] s_tokens =
    [
        .. new[]
        {
            "{", "}", "[", "]", "\"", ":", ",", "-", "0", "-1", "1e308", "-1e308", "9223372036854775807", "18446744073709551616", "null", "true",
            "\"\"", "NaN", "\\u0000", "\\", "\n", "\r\n", "\t", " ", "*a", "&a ", "!!str ", "? ", "- ", "---\n", "...\n", "%YAML 1.1\n", "#", "'", "|\n", "\u00e9",
            "\ud83d\ude00", "\uFEFF", "\u202E",
        }.Select(Encoding.UTF8.GetBytes),
        [0x00], [0xFF], [0x7F], [0x80], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xFF, 0xFF, 0xFF, 0x7F], [0x00, 0x00, 0x00, 0x80], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    ];

    /// <summary>What happened to the inputs of one run.</summary>
    public sealed record Report(string Target, int Inputs, int Accepted, int Refused, TimeSpan Elapsed, TimeSpan Slowest = default, int SlowestInput = -1)
    {
        public override string ToString() =>
            $"{Target}: {Inputs} inputs, no crash ({Accepted} accepted, {Refused} refused as invalid) in {Elapsed.TotalSeconds:0.0} s; " +
            $"slowest input {SlowestInput}: {Slowest.TotalMilliseconds:0} ms";
    }

    /// <summary>
    /// Runs <paramref name="iterations"/> inputs derived from <paramref name="seeds"/> through <paramref name="parse"/>;
    /// exceptions for which <paramref name="expected"/> is true count as refusals. Throws with the first unexpected
    /// failures (up to three) when there are any.
    /// </summary>
    public static Report Run(string target, IReadOnlyList<byte[]> seeds, int iterations, int seed, Action<byte[]> parse, Func<Exception, bool> expected)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(expected);
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        int accepted = 0, refused = 0, slowestInput = -1;
        var slowest = TimeSpan.Zero;
        var failures = new List<string>();
        for (var i = 0; i < iterations; i++)
        {
            var input = i < seeds.Count ? seeds[i] : Mutate(seeds, random);
            var started = Stopwatch.GetTimestamp();
            try
            {
                parse(input);
                accepted++;
            }
            catch (Exception e) when (expected(e))
            {
                refused++;
            }
            catch (Exception e)
            {
                failures.Add($"input {i} (seed {seed}): {e.GetType().FullName}: {e.Message}\n{e.StackTrace}\nbase64: {Convert.ToBase64String(input.Length > 4096 ? input[..4096] : input)}");
                if (failures.Count >= 3)
                {
                    break;
                }
            }

            if (Stopwatch.GetElapsedTime(started) is var took && took > slowest)
            {
                (slowest, slowestInput) = (took, i);
            }
        }

        if (failures.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"{target}: {failures.Count} unexpected failures after {accepted + refused} clean inputs:\n\n{string.Join("\n\n", failures)}");
        }

        return new Report(target, iterations, accepted, refused, clock.Elapsed, slowest, slowestInput);
    }

    /// <summary>Async variant for targets behind I/O (HTTP servers): each input is awaited before the next.</summary>
    public static async Task<Report> RunAsync(string target, IReadOnlyList<byte[]> seeds, int iterations, int seed, Func<byte[], Task<bool>> parse)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(parse);
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        int accepted = 0, refused = 0, slowestInput = -1;
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < iterations; i++)
        {
            var input = i < seeds.Count ? seeds[i] : Mutate(seeds, random);
            bool ok;
            var started = Stopwatch.GetTimestamp();
            try
            {
                ok = await parse(input);
                if (Stopwatch.GetElapsedTime(started) is var took && took > slowest)
                {
                    (slowest, slowestInput) = (took, i);
                }
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{target}: input {i} (seed {seed}) failed after {i} clean inputs: {e}\nbase64: {Convert.ToBase64String(input)}");
            }

            if (ok)
            {
                accepted++;
            }
            else
            {
                refused++;
            }
        }

        return new Report(target, iterations, accepted, refused, clock.Elapsed, slowest, slowestInput);
    }

    /// <summary>One derived input: one to four mutations of a seed (or of two seeds spliced).</summary>
    public static byte[] Mutate(IReadOnlyList<byte[]> seeds, Random random)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(random);
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        var count = 1 + random.Next(4);
        for (var m = 0; m < count; m++)
        {
            var at = data.Count == 0 ? 0 : random.Next(data.Count);
            switch (random.Next(9))
            {
                case 0 when data.Count > 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[at] = (byte)random.Next(256);
                    break;
                case 2:
                    data.InsertRange(at, s_tokens[random.Next(s_tokens.Length)]);
                    break;
                case 3 when data.Count > 0:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                    break;
                case 4 when data.Count > 0:
                    var length = Math.Min(data.Count - at, 1 + random.Next(64));
                    data.InsertRange(random.Next(data.Count), data.GetRange(at, length));
                    break;
                case 5 when data.Count > 0:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 6:
                    var other = seeds[random.Next(seeds.Count)];
                    if (other.Length > 0)
                    {
                        var from = random.Next(other.Length);
                        data.InsertRange(at, other.AsSpan(from, Math.Min(other.Length - from, 1 + random.Next(128))).ToArray());
                    }

                    break;
                case 7:
                    // a run of one token: nesting bombs and long strings
                    var token = s_tokens[random.Next(6)];
                    data.InsertRange(at, Enumerable.Repeat(token, 1 + random.Next(200)).SelectMany(t => t));
                    break;
                case 8 when data.Count > 8:
                    // overwrite a little-endian length-like field with a boundary value
                    var value = s_tokens[^(1 + random.Next(4))];
                    for (var b = 0; b < value.Length && at + b < data.Count; b++)
                    {
                        data[at + b] = value[b];
                    }

                    break;
            }
        }

        return [.. data];
    }
}
