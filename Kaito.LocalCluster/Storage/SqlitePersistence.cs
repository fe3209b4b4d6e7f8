using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Kaito.LocalCluster.Storage;

/// <summary>
/// Objects in an SQLite database (<c>cluster.db</c> under <c>--data-dir</c>), in WAL mode with full synchronous
/// commits: a write is on disk before the API answers, so a SIGKILL loses nothing that was acknowledged.
/// </summary>
public sealed class SqlitePersistence : IObjectPersistence, IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _put;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _revision;

    public SqlitePersistence(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        Kaito.ServiceDefaults.OwnerOnlyFile.CreateDirectory(dataDirectory);
        var database = Path.Combine(dataDirectory, "cluster.db");
        if (!File.Exists(database) && !OperatingSystem.IsWindows())
        {
            // Secrets live in it: SQLite gives its journal files the database's mode, so this covers them too.
            File.Create(database, 0, FileOptions.None).Dispose();
            File.SetUnixFileMode(database, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = database,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL;");
        Execute("PRAGMA synchronous=FULL;");
        Execute("""
            CREATE TABLE IF NOT EXISTS objects (
                resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
                revision INTEGER NOT NULL, body TEXT NOT NULL,
                PRIMARY KEY (resource, namespace, name));
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            """);

        _put = Command("""
            INSERT INTO objects (resource, namespace, name, revision, body) VALUES ($resource, $namespace, $name, $revision, $body)
              ON CONFLICT (resource, namespace, name) DO UPDATE SET revision = excluded.revision, body = excluded.body;
            """, "$resource", "$namespace", "$name", "$revision", "$body");
        _delete = Command("DELETE FROM objects WHERE resource = $resource AND namespace = $namespace AND name = $name;",
            "$resource", "$namespace", "$name");
        _revision = Command("INSERT INTO meta (key, value) VALUES ('revision', $revision) ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
            "$revision");
    }

    public (IReadOnlyList<(ObjectKey Key, JsonObject Item)> Objects, long Revision) Load()
    {
        var items = new List<(ObjectKey, JsonObject)>();
        using (var query = _connection.CreateCommand())
        {
            query.CommandText = "SELECT resource, namespace, name, body FROM objects ORDER BY revision;";
            using var reader = query.ExecuteReader();
            while (reader.Read())
            {
                var key = new ObjectKey(reader.GetString(0), reader.GetString(1), reader.GetString(2));
                items.Add((key, JsonNode.Parse(reader.GetString(3))!.AsObject()));
            }
        }

        using var revision = _connection.CreateCommand();
        revision.CommandText = "SELECT COALESCE((SELECT value FROM meta WHERE key = 'revision'), (SELECT MAX(revision) FROM objects), 0);";
        return (items, Convert.ToInt64(revision.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Put(ObjectKey key, JsonObject item, long revision)
    {
        using var transaction = _connection.BeginTransaction();
        Bind(_put, transaction, key);
        _put.Parameters["$revision"].Value = revision;
        _put.Parameters["$body"].Value = item.ToJsonString();
        _put.ExecuteNonQuery();
        SaveRevision(transaction, revision);
        transaction.Commit();
    }

    public void Delete(ObjectKey key, long revision)
    {
        using var transaction = _connection.BeginTransaction();
        Bind(_delete, transaction, key);
        _delete.ExecuteNonQuery();
        SaveRevision(transaction, revision);
        transaction.Commit();
    }

    public void Dispose()
    {
        _put.Dispose();
        _delete.Dispose();
        _revision.Dispose();
        _connection.Dispose();
    }

    private void SaveRevision(SqliteTransaction transaction, long revision)
    {
        _revision.Transaction = transaction;
        _revision.Parameters["$revision"].Value = revision;
        _revision.ExecuteNonQuery();
    }

    private static void Bind(SqliteCommand command, SqliteTransaction transaction, ObjectKey key)
    {
        command.Transaction = transaction;
        command.Parameters["$resource"].Value = key.GroupResource;
        command.Parameters["$namespace"].Value = key.Namespace;
        command.Parameters["$name"].Value = key.Name;
    }

    private SqliteCommand Command(string text, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = text;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new SqliteParameter(parameter, null));
        }

        command.Prepare();
        return command;
    }

    private void Execute(string text)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = text;
        command.ExecuteNonQuery();
    }
}
