namespace Kaito.LocalCluster.Apis;

/// <summary>
/// <c>Warning: 299 - "..."</c> headers, as kube-apiserver sends them, from text that may hold anything (a field name from
/// the request, a webhook's warning): printable ASCII only (others become <c>?</c>), quotes escaped, at most 512
/// characters — otherwise Kestrel refuses the header and the request fails with a 500.
/// </summary>
public static class WarningHeaders
{
    public static void Add(HttpContext context, string warning)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(warning);
        var text = new string([.. warning.Take(512).Select(c => c is >= ' ' and <= '~' ? c : '?')]);
        text = text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        context.Response.Headers.Append("Warning", $"299 - \"{text}\"");
    }
}
