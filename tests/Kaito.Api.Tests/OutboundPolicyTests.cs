using System.Net;
using Kaito.Api.Networking;

namespace Kaito.Api.Tests;

/// <summary>The connect-time address check, with an injected resolver: asked, refused, and no socket opened.</summary>
public sealed class OutboundPolicyTests
{
    [Theory]
    [InlineData("169.254.169.254", "a link-local (cloud metadata) address (169.254.169.254)")]
    [InlineData("10.0.0.1", "a private address (10.0.0.1)")]
    [InlineData("64:ff9b::a9fe:a9fe", "a link-local (cloud metadata) address (64:ff9b::a9fe:a9fe)")]
    public async Task ANameThatResolvesToAnInternalAddressIsRefusedBeforeConnecting(string address, string reason)
    {
        var asked = new List<string>();
        var policy = new OutboundPolicy([], (host, _) =>
        {
            asked.Add(host);
            return Task.FromResult(new[] { IPAddress.Parse(address) });
        });
        using var http = new HttpClient(policy.CreateHandler());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("http://data.example.test/train.parquet"));

        Assert.Equal(["data.example.test"], asked);
        var refused = Assert.IsType<RefusedConnectionException>(error.InnerException);
        Assert.Equal($"connecting to data.example.test:80 was refused: it resolves to {reason}, which downloads may not reach", refused.Message);
    }

    [Fact]
    public async Task ANameWithOnePublicAndOneInternalAddressIsRefused()
    {
        var policy = new OutboundPolicy([], (_, _) => Task.FromResult(new[] { IPAddress.Parse("20.42.65.92"), IPAddress.Parse("127.0.0.1") }));
        using var http = new HttpClient(policy.CreateHandler());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("http://rebinding.example.test/"));

        Assert.Contains("a loopback address (127.0.0.1)", Assert.IsType<RefusedConnectionException>(error.InnerException).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAllowedOriginIsExemptOnItsPortOnly()
    {
        var policy = OutboundPolicy.FromOptions("127.0.0.1:8080", null);

        Assert.Null(policy.Problem(new Uri("http://127.0.0.1:8080/data.parquet")));
        Assert.NotNull(policy.Problem(new Uri("http://127.0.0.1:8081/data.parquet")));
    }
}
