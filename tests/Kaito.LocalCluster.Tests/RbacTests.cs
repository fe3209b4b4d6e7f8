using Kaito.Testing;

namespace Kaito.LocalCluster.Tests;

/// <summary>
/// Service accounts and RBAC as kube-apiserver does them, driven with kubectl: <c>kubectl create token</c>, a token's
/// user refused with the API server's wording until a Role or ClusterRole is bound to it, in the binding's namespace only,
/// a deleted account's tokens refused, and blockOwnerDeletion only for who may update the owner's finalizers.
/// </summary>
public sealed class RbacTests
{
    [Fact]
    public async Task AServiceAccountMayDoWhatItsBindingsAllowAndNothingElse()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var kubectl = cluster.Kubectl;
        (await kubectl.RunAsync("create", "serviceaccount", "reader")).EnsureSuccess();
        var token = (await kubectl.RunAsync("create", "token", "reader", "--duration", "20m")).EnsureSuccess().Output.Trim();
        Assert.Equal(3, token.Split('.').Length);
        Task<KubectlResult> AsReader(params string[] arguments) => kubectl.RunAsync(["--token", token, .. arguments]);

        var refused = await AsReader("get", "pods");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("pods is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
            refused.Error, StringComparison.Ordinal);

        (await kubectl.RunAsync("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")).EnsureSuccess();
        (await kubectl.RunAsync("create", "rolebinding", "reader", "--role=pod-reader", "--serviceaccount=default:reader")).EnsureSuccess();
        (await AsReader("get", "pods")).EnsureSuccess();
        Assert.Contains("cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\"", (await AsReader("get", "pods", "-n", "kube-system")).Error, StringComparison.Ordinal);
        Assert.Contains("cannot list resource \"secrets\"", (await AsReader("get", "secrets")).Error, StringComparison.Ordinal);
        Assert.Contains("cannot list resource \"nodes\" in API group \"\" at the cluster scope", (await AsReader("get", "nodes")).Error, StringComparison.Ordinal);

        (await kubectl.RunAsync("create", "clusterrole", "node-reader", "--verb=list", "--resource=nodes")).EnsureSuccess();
        (await kubectl.RunAsync("create", "clusterrolebinding", "reader-nodes", "--clusterrole=node-reader", "--serviceaccount=default:reader")).EnsureSuccess();
        (await AsReader("get", "nodes")).EnsureSuccess();
        // by resource name: get that one, not another
        (await kubectl.RunAsync("create", "configmap", "mine")).EnsureSuccess();
        (await kubectl.RunAsync("create", "configmap", "other")).EnsureSuccess();
        (await kubectl.RunAsync("create", "role", "one-map", "--verb=get", "--resource=configmaps", "--resource-name=mine")).EnsureSuccess();
        (await kubectl.RunAsync("create", "rolebinding", "one-map", "--role=one-map", "--serviceaccount=default:reader")).EnsureSuccess();
        (await AsReader("get", "configmap", "mine")).EnsureSuccess();
        Assert.Contains("configmaps \"other\" is forbidden", (await AsReader("get", "configmap", "other")).Error, StringComparison.Ordinal);

        // The account gone, its tokens go with it.
        (await kubectl.RunAsync("delete", "serviceaccount", "reader")).EnsureSuccess();
        Assert.Contains("Unauthorized", (await AsReader("get", "nodes")).Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task BlockOwnerDeletionNeedsTheOwnersFinalizers()
    {
        await using var cluster = await LocalClusterProcess.StartAsync();
        var kubectl = cluster.Kubectl;
        (await kubectl.RunAsync("create", "serviceaccount", "writer")).EnsureSuccess();
        (await kubectl.RunAsync("create", "role", "writer", "--verb=create", "--resource=configmaps")).EnsureSuccess();
        (await kubectl.RunAsync("create", "rolebinding", "writer", "--role=writer", "--serviceaccount=default:writer")).EnsureSuccess();
        (await kubectl.RunAsync("create", "configmap", "owner")).EnsureSuccess();
        var uid = (await kubectl.RunAsync("get", "configmap", "owner", "-o", "jsonpath={.metadata.uid}")).EnsureSuccess().Output.Trim();
        var token = (await kubectl.RunAsync("create", "token", "writer")).EnsureSuccess().Output.Trim();
        string Owned(string name) => $$"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: {{name}}
              ownerReferences:
              - {apiVersion: v1, kind: ConfigMap, name: owner, uid: {{uid}}, blockOwnerDeletion: true}
            """;

        var refused = await kubectl.RunAsync(["--token", token, "create", "-f", "-"], Owned("held"), TimeSpan.FromMinutes(1));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on", refused.Error, StringComparison.Ordinal);

        (await kubectl.RunAsync("create", "role", "finalizers", "--verb=update", "--resource=configmaps/finalizers")).EnsureSuccess();
        (await kubectl.RunAsync("create", "rolebinding", "finalizers", "--role=finalizers", "--serviceaccount=default:writer")).EnsureSuccess();
        (await kubectl.RunAsync(["--token", token, "create", "-f", "-"], Owned("held"), TimeSpan.FromMinutes(1))).EnsureSuccess();
    }

    [Fact]
    public async Task PodsGetTheirAccountsTokenUnlessTheyOptOut()
    {
        await using var cluster = await LocalClusterProcess.StartAsync("--system-node", "local-system");
        var kubectl = cluster.Kubectl;
        (await kubectl.RunAsync("create", "serviceaccount", "app")).EnsureSuccess();
        (await kubectl.RunAsync("create", "role", "self", "--verb=get", "--resource=serviceaccounts", "--resource-name=app")).EnsureSuccess();
        (await kubectl.RunAsync("create", "rolebinding", "self", "--role=self", "--serviceaccount=default:app")).EnsureSuccess();
        const string Script = "d=/var/run/secrets/kubernetes.io/serviceaccount; if [ -f $d/token ]; then echo ns=$(cat $d/namespace) host=$KUBERNETES_SERVICE_HOST; "
            + "wget -q -O- --header \"Authorization: Bearer $(cat $d/token)\" --no-check-certificate https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/default/serviceaccounts/app | grep -o '\"name\":\"app\"' | head -1; "
            + "else echo no-token; fi";
        foreach (var (name, automount) in new[] { ("with-token", "true"), ("without-token", "false") })
        {
            (await kubectl.RunAsync(["apply", "-f", "-"], $$"""
                apiVersion: v1
                kind: Pod
                metadata: {name: {{name}}}
                spec:
                  serviceAccountName: app
                  automountServiceAccountToken: {{automount}}
                  restartPolicy: Never
                  containers:
                  - name: main
                    image: busybox
                    command: [sh, -c, '{{Script.Replace("'", "''", StringComparison.Ordinal)}}']
                """, TimeSpan.FromMinutes(1))).EnsureSuccess();
        }

        foreach (var name in new[] { "with-token", "without-token" })
        {
            await Eventually.ValueAsync(async () =>
                (await kubectl.RunAsync("get", "pod", name, "-o", "jsonpath={.status.phase}")).Output is "Succeeded" or "Failed" ? "done" : null, TimeSpan.FromMinutes(2));
        }

        // The token is the account's: the API server takes it, and RBAC gives it what its Role allows.
        var logs = (await kubectl.RunAsync("logs", "with-token")).EnsureSuccess().Output;
        Assert.Contains("ns=default host=127.0.0.1", logs, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"app\"", logs, StringComparison.Ordinal);
        Assert.Equal("no-token", (await kubectl.RunAsync("logs", "without-token")).EnsureSuccess().Output.Trim());
    }
}
