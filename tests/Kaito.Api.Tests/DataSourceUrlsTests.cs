using System.Net;
using Kaito.Api.Validation;

namespace Kaito.Api.Tests;

/// <summary>The data URL rule and the address rule the downloaders apply at connect time (no traffic is sent).</summary>
public sealed class DataSourceUrlsTests
{
    [Theory]
    [InlineData("127.0.0.1", "a loopback address")]
    [InlineData("127.255.0.9", "a loopback address")]
    [InlineData("0.0.0.0", "an unspecified (\"this network\") address")]
    [InlineData("0.1.2.3", "an unspecified (\"this network\") address")]
    [InlineData("10.1.2.3", "a private address")]
    [InlineData("172.31.255.255", "a private address")]
    [InlineData("192.168.1.1", "a private address")]
    [InlineData("100.64.0.1", "a shared (carrier-grade NAT) address")]
    [InlineData("100.127.255.254", "a shared (carrier-grade NAT) address")]
    [InlineData("169.254.169.254", "a link-local (cloud metadata) address")]
    [InlineData("168.63.129.16", "Azure's wireserver address")]
    [InlineData("198.18.0.1", "a benchmarking address")]
    [InlineData("198.19.255.255", "a benchmarking address")]
    [InlineData("224.0.0.1", "a multicast address")]
    [InlineData("255.255.255.255", "a reserved address")]
    [InlineData("::1", "a loopback address")]
    [InlineData("::", "an unspecified address")]
    [InlineData("fe80::1", "a link-local address")]
    [InlineData("fd00::1", "a unique-local (private) address")]
    [InlineData("ff02::1", "a multicast address")]
    [InlineData("::ffff:127.0.0.1", "a loopback address")]
    [InlineData("::ffff:169.254.169.254", "a link-local (cloud metadata) address")]
    [InlineData("64:ff9b::a9fe:a9fe", "a link-local (cloud metadata) address")]
    [InlineData("64:ff9b:1::a00:1", "a private address")]
    [InlineData("2002:a9fe:a9fe::1", "a link-local (cloud metadata) address")]
    [InlineData("::a9fe:a9fe", "an IPv4-compatible address")]
    [InlineData("2001:db8::1", "a documentation address")]
    public void NonPublicAddressesAreRefusedNamingTheirKind(string address, string kind)
    {
        Assert.StartsWith(kind, DataSourceUrls.AddressProblem(IPAddress.Parse(address)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("20.42.65.92")]
    [InlineData("8.8.8.8")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("64:ff9b::808:808")]
    public void PublicAddressesAreAllowed(string address)
    {
        Assert.Null(DataSourceUrls.AddressProblem(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/latest", "a link-local (cloud metadata) address")]
    [InlineData("http://100.100.100.200/latest/meta-data", "a shared (carrier-grade NAT) address")]
    [InlineData("http://metadata.azure.com/x", "a local or metadata host")]
    [InlineData("http://LOCALHOST./x", "a local or metadata host")]
    public void LiteralAndNamedInternalUrlsAreRefused(string url, string expected)
    {
        Assert.Contains(expected, DataSourceUrls.Problem(url), StringComparison.Ordinal);
    }

    [Fact]
    public void QueryStringsNeverAppearInMessages()
    {
        var problem = DataSourceUrls.Problem("ftp://storage.example.com/data.parquet?sv=2024&sig=SECRET");

        Assert.Equal("URL 'ftp://storage.example.com/data.parquet?…' must use http or https, not ftp", problem);
        Assert.Equal("https://a.blob.core.windows.net/c/train.parquet?…", DataSourceUrls.Redact("https://a.blob.core.windows.net/c/train.parquet?sig=SECRET"));
        Assert.Equal("https://a.example/x", DataSourceUrls.Redact("https://user:pw@a.example/x"));
    }
}
