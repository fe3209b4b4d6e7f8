namespace Kaito.Testing;

/// <summary>Paths in the repository the tests run from.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>A file in a project's build output, for the configuration the tests were built in.</summary>
    public static string BuildOutput(string project, string file)
    {
        // tests/<project>/bin/<Configuration>/<framework>/
        var framework = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = framework.Parent!.Name;
        var path = Path.Combine(Root, project, "bin", configuration, framework.Name, file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing; build the solution first.", path);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Kaito.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Kaito.sln above {AppContext.BaseDirectory}.");
    }
}
