// The bytes of a minimal ONNX file, for the metadata reader (static/widget/onnx-metadata.js) and the fake browser.

/**
 * A protobuf ModelProto with a graph field to skip, a varint field, and `metadata` as its metadata_props.
 * @param {Record<string, string>} metadata
 * @returns {Uint8Array}
 */
export function onnxModel(metadata) {
  const text = (s) => [...new TextEncoder().encode(s)];
  const field = (number, bytes) => [(number << 3) | 2, ...varint(bytes.length), ...bytes];
  const bytes = [0x08, 0x08, ...field(7, [1, 2, 3, 4]), 0x4a, 0x02, 0x05, 0x00]; // ir_version, graph, field 9
  for (const [key, value] of Object.entries(metadata)) {
    bytes.push(...field(14, [...field(1, text(key)), ...field(2, text(value))]));
  }
  return Uint8Array.from(bytes);
}

function varint(value) {
  const bytes = [];
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  return [...bytes, value];
}
