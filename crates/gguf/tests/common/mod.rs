//! A minimal GGUF encoder for tests: enough of the format to build small files with any
//! metadata value and a few tensors, independently of the reader under test.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use gguf::{GgufValue, GgufValueType};

/// Appends the little-endian encoding of a value without its type tag.
fn value(out: &mut Vec<u8>, v: &GgufValue) {
    match v {
        GgufValue::U8(x) => out.push(*x),
        GgufValue::I8(x) => out.extend(x.to_le_bytes()),
        GgufValue::U16(x) => out.extend(x.to_le_bytes()),
        GgufValue::I16(x) => out.extend(x.to_le_bytes()),
        GgufValue::U32(x) => out.extend(x.to_le_bytes()),
        GgufValue::I32(x) => out.extend(x.to_le_bytes()),
        GgufValue::F32(x) => out.extend(x.to_le_bytes()),
        GgufValue::Bool(x) => out.push(u8::from(*x)),
        GgufValue::String(s) => string(out, s),
        GgufValue::Array { item_type, values } => {
            out.extend(item_type.tag().to_le_bytes());
            out.extend((values.len() as u64).to_le_bytes());
            // Nested arrays are encoded recursively: each carries its own type and length.
            for item in values {
                value(out, item);
            }
        }
        GgufValue::U64(x) => out.extend(x.to_le_bytes()),
        GgufValue::I64(x) => out.extend(x.to_le_bytes()),
        GgufValue::F64(x) => out.extend(x.to_le_bytes()),
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// A tensor to write: name, ggml shape, ggml type id, data.
pub struct TestTensor {
    pub name: String,
    pub shape: Vec<u64>,
    pub type_id: u32,
    pub data: Vec<u8>,
}

/// Encodes a GGUF v3 file with `metadata` and `tensors`, data aligned to `alignment`.
pub fn encode(metadata: &[(&str, GgufValue)], tensors: &[TestTensor], alignment: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(b"GGUF");
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (key, v) in metadata {
        string(&mut out, key);
        out.extend(v.value_type().tag().to_le_bytes());
        value(&mut out, v);
    }
    let mut offset = 0u64;
    let mut offsets = Vec::new();
    for t in tensors {
        string(&mut out, &t.name);
        out.extend((t.shape.len() as u32).to_le_bytes());
        for d in &t.shape {
            out.extend(d.to_le_bytes());
        }
        out.extend(t.type_id.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offsets.push(offset);
        offset = (offset + t.data.len() as u64).div_ceil(alignment) * alignment;
    }
    let data_start = (out.len() as u64).div_ceil(alignment) * alignment;
    out.resize(data_start as usize, 0);
    for (t, off) in tensors.iter().zip(offsets) {
        out.resize((data_start + off) as usize, 0);
        out.extend(&t.data);
    }
    out
}

/// A string array value.
pub fn strings(items: &[&str]) -> GgufValue {
    GgufValue::Array {
        item_type: GgufValueType::String,
        values: items
            .iter()
            .map(|s| GgufValue::String((*s).to_owned()))
            .collect(),
    }
}

/// An int32 array value.
pub fn i32s(items: &[i32]) -> GgufValue {
    GgufValue::Array {
        item_type: GgufValueType::I32,
        values: items.iter().map(|v| GgufValue::I32(*v)).collect(),
    }
}
