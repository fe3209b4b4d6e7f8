using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Kaito.Models.Onnx;

/// <summary>
/// Builds an ONNX graph node by node with generated, unique value names. Large initializers can be written to an
/// external data file (ONNX's protobuf files are limited to 2 GB).
/// </summary>
internal sealed class OnnxGraphBuilder(string graphName)
{
    private int _next;
    private Stream? _externalData;
    private string? _externalFileName;

    public GraphProto Graph { get; } = new() { Name = graphName };

    /// <summary>Initializers at least this large go to the external data file once one is set.</summary>
    public long ExternalThreshold { get; init; } = 1024;

    public void UseExternalData(Stream stream, string fileName)
    {
        _externalData = stream;
        _externalFileName = fileName;
    }

    public string Node(string opType, IReadOnlyList<string> inputs, params AttributeProto[] attributes) =>
        Node(opType, inputs, [Fresh(opType)], attributes)[0];

    public IReadOnlyList<string> Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_next++}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return outputs;
    }

    public string Fresh(string hint) => $"{hint.ToLowerInvariant()}_{_next++}";

    public string Floats(string name, float[] values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float };
        tensor.Dims.AddRange(dims);
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (_externalData is not null && bytes.Length >= ExternalThreshold)
        {
            tensor.DataLocation = TensorProto.Types.DataLocation.External;
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = _externalFileName });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = _externalData.Position.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            _externalData.Write(bytes);
        }
        else
        {
            tensor.RawData = ByteString.CopyFrom(bytes);
        }

        Graph.Initializer.Add(tensor);
        return name;
    }

    public string Float(float value) => Floats(Fresh("const_f"), [value]);

    public string Int64s(long[] values, params long[] dims)
    {
        var name = Fresh("const_i");
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        tensor.Dims.AddRange(dims);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, split sizes).</summary>
    public string Int64Vector(params long[] values) => Int64s(values, values.Length);

    public string Int64Scalar(long value) => Int64s([value]);

    public void Input(string name, DataType type, params string[] dims) => Graph.Input.Add(ValueInfo(name, type, dims));

    public void Output(string name, DataType type, params string[] dims) => Graph.Output.Add(ValueInfo(name, type, dims));

    public static AttributeProto Attribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attribute(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(long.TryParse(dim, out var value)
                ? new TensorShapeProto.Types.Dimension { DimValue = value }
                : new TensorShapeProto.Types.Dimension { DimParam = dim });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
