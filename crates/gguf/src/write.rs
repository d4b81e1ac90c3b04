//! Writing GGUF files (version 3): metadata key-values and F32 tensors, laid out as the spec
//! says (little-endian, tensor data aligned to `general.alignment`, default 32). The trainer uses
//! it for llama.cpp LoRA adapters (`general.type = "adapter"`), which are small, so the file is
//! built in memory and the caller writes it atomically.

use crate::reader::{GgufValue, GgufValueType};

/// Alignment of the tensor data section and of every tensor in it.
pub const DEFAULT_ALIGNMENT: usize = 32;

/// Why a GGUF file could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Two tensors or two keys share a name.
    #[error("duplicate {what} name {name:?} in the GGUF being written; names must be unique")]
    Duplicate {
        /// `tensor` or `metadata key`.
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// The data length does not match the shape.
    #[error("tensor {name:?}: {got} values given for shape {shape:?}")]
    Shape {
        /// The tensor.
        name: String,
        /// Its ggml-order shape.
        shape: Vec<u64>,
        /// Values given.
        got: usize,
    },
    /// An array mixes element types.
    #[error("metadata array {key:?} mixes element types; GGUF arrays hold one type")]
    MixedArray {
        /// The key.
        key: String,
    },
}

struct PendingTensor {
    name: String,
    shape: Vec<u64>,
    data: Vec<f32>,
}

/// A GGUF file under construction.
#[derive(Default)]
pub struct GgufWriter {
    metadata: Vec<(String, GgufValue)>,
    tensors: Vec<PendingTensor>,
}

impl std::fmt::Debug for GgufWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufWriter")
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metadata key-value.
    pub fn metadata(&mut self, key: &str, value: GgufValue) -> Result<&mut Self, WriteError> {
        if self.metadata.iter().any(|(k, _)| k == key) {
            return Err(WriteError::Duplicate {
                what: "metadata key",
                name: key.to_owned(),
            });
        }
        if let GgufValue::Array { item_type, values } = &value {
            if values.iter().any(|v| v.value_type() != *item_type) {
                return Err(WriteError::MixedArray {
                    key: key.to_owned(),
                });
            }
        }
        self.metadata.push((key.to_owned(), value));
        Ok(self)
    }

    /// Adds an F32 tensor. `shape` is in ggml order (`ne[0]`, the contiguous dimension, first),
    /// so a row-major PyTorch `[out, in]` matrix is `[in, out]` here with the same bytes.
    pub fn tensor_f32(
        &mut self,
        name: &str,
        shape: &[u64],
        data: Vec<f32>,
    ) -> Result<&mut Self, WriteError> {
        if self.tensors.iter().any(|t| t.name == name) {
            return Err(WriteError::Duplicate {
                what: "tensor",
                name: name.to_owned(),
            });
        }
        let n: u64 = shape.iter().product();
        if n as usize != data.len() {
            return Err(WriteError::Shape {
                name: name.to_owned(),
                shape: shape.to_vec(),
                got: data.len(),
            });
        }
        self.tensors.push(PendingTensor {
            name: name.to_owned(),
            shape: shape.to_vec(),
            data,
        });
        Ok(self)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let alignment = self
            .metadata
            .iter()
            .find(|(k, _)| k == "general.alignment")
            .and_then(|(_, v)| v.as_u64())
            .map_or(DEFAULT_ALIGNMENT, |a| a as usize);
        let mut out = Vec::new();
        out.extend_from_slice(b"GGUF");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            write_string(&mut out, key);
            out.extend_from_slice(&value.value_type().tag().to_le_bytes());
            write_value(&mut out, value);
        }
        let mut offset = 0usize;
        for t in &self.tensors {
            write_string(&mut out, &t.name);
            out.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
            for d in &t.shape {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&0u32.to_le_bytes()); // GGML_TYPE_F32
            out.extend_from_slice(&(offset as u64).to_le_bytes());
            offset += (t.data.len() * 4).next_multiple_of(alignment);
        }
        pad(&mut out, alignment);
        for t in &self.tensors {
            for v in &t.data {
                out.extend_from_slice(&v.to_le_bytes());
            }
            pad(&mut out, alignment);
        }
        out
    }
}

fn pad(out: &mut Vec<u8>, alignment: usize) {
    let len = out.len().next_multiple_of(alignment);
    out.resize(len, 0);
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn write_value(out: &mut Vec<u8>, value: &GgufValue) {
    match value {
        GgufValue::U8(v) => out.push(*v),
        GgufValue::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::Bool(v) => out.push(u8::from(*v)),
        GgufValue::String(s) => write_string(out, s),
        GgufValue::Array { item_type, values } => {
            out.extend_from_slice(&item_type.tag().to_le_bytes());
            out.extend_from_slice(&(values.len() as u64).to_le_bytes());
            for v in values {
                write_value(out, v);
            }
        }
        GgufValue::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        GgufValue::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}

/// A string array value.
pub fn string_array(items: &[&str]) -> GgufValue {
    GgufValue::Array {
        item_type: GgufValueType::String,
        values: items
            .iter()
            .map(|s| GgufValue::String((*s).to_owned()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GgufFile;

    #[test]
    fn written_file_reads_back() {
        let mut w = GgufWriter::new();
        w.metadata("general.type", GgufValue::String("adapter".into()))
            .expect("new key");
        w.metadata("adapter.lora.alpha", GgufValue::F32(16.0))
            .expect("new key");
        w.metadata("tags", string_array(&["a", "b"]))
            .expect("new key");
        w.tensor_f32(
            "blk.0.attn_q.weight.lora_a",
            &[3, 2],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        )
        .expect("shape ok");
        w.tensor_f32("x", &[5], vec![0.5; 5]).expect("shape ok");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.gguf");
        std::fs::write(&path, w.to_bytes()).expect("write");
        let f = GgufFile::open(&path).expect("valid gguf");
        assert_eq!(f.get_str("general.type").expect("present"), "adapter");
        assert_eq!(f.get_f64("adapter.lora.alpha").expect("present"), 16.0);
        let t = f
            .tensor("blk.0.attn_q.weight.lora_a")
            .expect("present")
            .clone();
        assert_eq!(t.shape, vec![3, 2]);
        let bytes = f.tensor_bytes(&t).expect("data");
        let v = crate::dequant::dequantize(t.ggml_type, &bytes, 6).expect("f32");
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let x = f.tensor("x").expect("present").clone();
        assert_eq!(x.offset % 32, 0);
        assert!(w.tensor_f32("x", &[1], vec![0.0]).is_err());
    }
}
