using System.Text.RegularExpressions;

namespace Kaito.Api.Validation;

/// <summary>
/// Checks an OCI image reference: <c>[registry[:port]/]repository[:tag][@digest]</c>. Structure is an error; upper-case
/// letters and underscores in the registry or repository are only a warning, because the brief's quick start uses
/// placeholders such as <c>ACR_REPO_HERE.azurecr.io/IMAGE_NAME_HERE:0.0.1</c> and must apply as written; the push
/// then fails with the registry's own message.
/// </summary>
public static partial class ImageReferences
{
    /// <summary>Why <paramref name="reference"/> is not an image reference, or null when it is one.</summary>
    public static string? Problem(string? reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            return "image reference is empty";
        }

        return Structure().IsMatch(reference) ? null : $"'{reference}' is not a valid image reference ([registry/]repository[:tag][@digest])";
    }

    /// <summary>A warning for a reference registries will refuse (upper case, underscores in the host), or null.</summary>
    public static string? Warning(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var name = reference.Split('@')[0];
        var lastSlash = name.LastIndexOf('/');
        var tagColon = name.LastIndexOf(':');
        if (tagColon > lastSlash)
        {
            name = name[..tagColon];
        }

        return name.Any(char.IsUpper) || name.Split('/')[0].Contains('_', StringComparison.Ordinal)
            ? $"'{reference}' has upper-case letters or underscores in its registry or repository name; registries will refuse to push it"
            : null;
    }

    // name components of letters, digits and separators; an optional tag of at most 128 characters; an optional digest
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*(:[0-9]+)?(/[A-Za-z0-9][A-Za-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")]
    private static partial Regex Structure();
}
