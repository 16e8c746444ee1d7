"""The guide's `aialgs.data.Record` protobuf schema, built at import time (no protoc step).

Field numbers and types follow the Developer Guide's .proto exactly, so bytes written by the official
client (sagemaker.amazon.common) parse here and ours parse there.
"""
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto


def _field(msg, name, number, ftype, label=_F.LABEL_OPTIONAL, type_name=None, packed=False, oneof=None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = type_name
    if packed:
        f.options.packed = True
    if oneof is not None:
        f.oneof_index = oneof
    return f


def _tensor(fdp, name, value_type):
    m = fdp.message_type.add(name=name)
    _field(m, "values", 1, value_type, _F.LABEL_REPEATED, packed=True)
    _field(m, "keys", 2, _F.TYPE_UINT64, _F.LABEL_REPEATED, packed=True)
    _field(m, "shape", 3, _F.TYPE_UINT64, _F.LABEL_REPEATED, packed=True)


def _map_entry(msg, name):
    entry = msg.nested_type.add(name=name)
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, _F.TYPE_MESSAGE, type_name=".aialgs.data.Value")
    return entry


def _build():
    fdp = descriptor_pb2.FileDescriptorProto(name="aialgs/data/record.proto", package="aialgs.data",
                                             syntax="proto2")
    _tensor(fdp, "Float32Tensor", _F.TYPE_FLOAT)
    _tensor(fdp, "Float64Tensor", _F.TYPE_DOUBLE)
    _tensor(fdp, "Int32Tensor", _F.TYPE_INT32)
    b = fdp.message_type.add(name="Bytes")
    _field(b, "value", 1, _F.TYPE_BYTES, _F.LABEL_REPEATED)
    _field(b, "content_type", 2, _F.TYPE_STRING)
    v = fdp.message_type.add(name="Value")
    v.oneof_decl.add(name="value")
    _field(v, "float32_tensor", 2, _F.TYPE_MESSAGE, type_name=".aialgs.data.Float32Tensor", oneof=0)
    _field(v, "float64_tensor", 3, _F.TYPE_MESSAGE, type_name=".aialgs.data.Float64Tensor", oneof=0)
    _field(v, "int32_tensor", 7, _F.TYPE_MESSAGE, type_name=".aialgs.data.Int32Tensor", oneof=0)
    _field(v, "bytes", 9, _F.TYPE_MESSAGE, type_name=".aialgs.data.Bytes", oneof=0)
    r = fdp.message_type.add(name="Record")
    _map_entry(r, "FeaturesEntry")
    _map_entry(r, "LabelEntry")
    _field(r, "features", 1, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".aialgs.data.Record.FeaturesEntry")
    _field(r, "label", 2, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".aialgs.data.Record.LabelEntry")
    _field(r, "uid", 3, _F.TYPE_STRING)
    _field(r, "metadata", 4, _F.TYPE_STRING)
    _field(r, "configuration", 5, _F.TYPE_STRING)
    pool = descriptor_pool.DescriptorPool()
    fd = pool.Add(fdp)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data." + name))
            for name in ("Record", "Value", "Float32Tensor", "Float64Tensor", "Int32Tensor", "Bytes")}


_classes = _build()
Record = _classes["Record"]
Value = _classes["Value"]
Float32Tensor = _classes["Float32Tensor"]
