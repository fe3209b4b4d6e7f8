using System.Reflection;

namespace Kaito.ServiceDefaults;

/// <summary>The release an assembly was built as: <c>Version</c> in Directory.Build.props, without the commit the SDK appends.</summary>
public static class ReleaseVersion
{
    public static string Of(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return (assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];
    }
}
