using System.Runtime.InteropServices;

namespace Kaito.ModelPuller;

internal static partial class Native
{
    /// <summary>link(2): a second name for <paramref name="existing"/>; false when the file system cannot (another device).</summary>
    public static bool TryHardLink(string existing, string link) => Link(existing, link) == 0;

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string link);
}
