//! Reading GGUF files: the header, every metadata key-value (all thirteen value types, arrays
//! included), the tensor directory, and each tensor's raw bytes on demand.
//!
//! The header and directory are streamed through a buffered reader once at [`GgufFile::open`];
//! tensor data is not read until asked for, with positional reads on the open file, so opening a
//! multi-gigabyte model to read its tokenizer costs only the metadata (no `unsafe` memory map).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::GgufError;

/// The magic bytes at the start of every GGUF file.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// The alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Strings or arrays longer than this are treated as corruption rather than allocated.
const MAX_LENGTH: u64 = 1 << 30;

/// The type tag of a metadata value, as numbered by the GGUF specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgufValueType {
    /// `uint8`.
    U8,
    /// `int8`.
    I8,
    /// `uint16`.
    U16,
    /// `int16`.
    I16,
    /// `uint32`.
    U32,
    /// `int32`.
    I32,
    /// `float32`.
    F32,
    /// `bool` (one byte).
    Bool,
    /// Length-prefixed UTF-8 string.
    String,
    /// Typed, length-prefixed array.
    Array,
    /// `uint64`.
    U64,
    /// `int64`.
    I64,
    /// `float64`.
    F64,
}

impl GgufValueType {
    /// The type for a numeric tag, if the tag is known.
    pub fn from_tag(tag: u32) -> Option<Self> {
        Some(match tag {
            0 => Self::U8,
            1 => Self::I8,
            2 => Self::U16,
            3 => Self::I16,
            4 => Self::U32,
            5 => Self::I32,
            6 => Self::F32,
            7 => Self::Bool,
            8 => Self::String,
            9 => Self::Array,
            10 => Self::U64,
            11 => Self::I64,
            12 => Self::F64,
            _ => return None,
        })
    }

    /// The numeric tag written in files.
    pub fn tag(self) -> u32 {
        match self {
            Self::U8 => 0,
            Self::I8 => 1,
            Self::U16 => 2,
            Self::I16 => 3,
            Self::U32 => 4,
            Self::I32 => 5,
            Self::F32 => 6,
            Self::Bool => 7,
            Self::String => 8,
            Self::Array => 9,
            Self::U64 => 10,
            Self::I64 => 11,
            Self::F64 => 12,
        }
    }
}

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum GgufValue {
    /// `uint8`.
    U8(u8),
    /// `int8`.
    I8(i8),
    /// `uint16`.
    U16(u16),
    /// `int16`.
    I16(i16),
    /// `uint32`.
    U32(u32),
    /// `int32`.
    I32(i32),
    /// `float32`.
    F32(f32),
    /// `bool`.
    Bool(bool),
    /// A string.
    String(String),
    /// An array whose elements all have type `item_type`.
    Array {
        /// The element type (itself possibly `Array`, for nested arrays).
        item_type: GgufValueType,
        /// The elements.
        values: Vec<GgufValue>,
    },
    /// `uint64`.
    U64(u64),
    /// `int64`.
    I64(i64),
    /// `float64`.
    F64(f64),
}

impl GgufValue {
    /// The value's type tag.
    pub fn value_type(&self) -> GgufValueType {
        match self {
            Self::U8(_) => GgufValueType::U8,
            Self::I8(_) => GgufValueType::I8,
            Self::U16(_) => GgufValueType::U16,
            Self::I16(_) => GgufValueType::I16,
            Self::U32(_) => GgufValueType::U32,
            Self::I32(_) => GgufValueType::I32,
            Self::F32(_) => GgufValueType::F32,
            Self::Bool(_) => GgufValueType::Bool,
            Self::String(_) => GgufValueType::String,
            Self::Array { .. } => GgufValueType::Array,
            Self::U64(_) => GgufValueType::U64,
            Self::I64(_) => GgufValueType::I64,
            Self::F64(_) => GgufValueType::F64,
        }
    }

    /// The value as an unsigned integer, when it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(u64::from(v)),
            Self::U16(v) => Some(u64::from(v)),
            Self::U32(v) => Some(u64::from(v)),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a signed integer, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::I8(v) => Some(i64::from(v)),
            Self::I16(v) => Some(i64::from(v)),
            Self::I32(v) => Some(i64::from(v)),
            Self::I64(v) => Some(v),
            Self::U8(v) => Some(i64::from(v)),
            Self::U16(v) => Some(i64::from(v)),
            Self::U32(v) => Some(i64::from(v)),
            Self::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, when it is a float.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(f64::from(v)),
            Self::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a bool, when it is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string slice, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, when the value is an array.
    pub fn as_array(&self) -> Option<&[GgufValue]> {
        match self {
            Self::Array { values, .. } => Some(values),
            _ => None,
        }
    }
}

/// The ggml storage type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, missing_docs)] // The names are ggml's own (`GGML_TYPE_Q4_K`, …).
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
}

impl GgmlType {
    /// The type for ggml's numeric id, if this reader knows its layout.
    pub fn from_id(id: u32) -> Option<Self> {
        use GgmlType::*;
        Some(match id {
            0 => F32,
            1 => F16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            9 => Q8_1,
            10 => Q2_K,
            11 => Q3_K,
            12 => Q4_K,
            13 => Q5_K,
            14 => Q6_K,
            15 => Q8_K,
            16 => IQ2_XXS,
            17 => IQ2_XS,
            18 => IQ3_XXS,
            19 => IQ1_S,
            20 => IQ4_NL,
            21 => IQ3_S,
            22 => IQ2_S,
            23 => IQ4_XS,
            24 => I8,
            25 => I16,
            26 => I32,
            27 => I64,
            28 => F64,
            29 => IQ1_M,
            30 => BF16,
            34 => TQ1_0,
            35 => TQ2_0,
            39 => MXFP4,
            _ => return None,
        })
    }

    /// ggml's numeric id.
    pub fn id(self) -> u32 {
        use GgmlType::*;
        match self {
            F32 => 0,
            F16 => 1,
            Q4_0 => 2,
            Q4_1 => 3,
            Q5_0 => 6,
            Q5_1 => 7,
            Q8_0 => 8,
            Q8_1 => 9,
            Q2_K => 10,
            Q3_K => 11,
            Q4_K => 12,
            Q5_K => 13,
            Q6_K => 14,
            Q8_K => 15,
            IQ2_XXS => 16,
            IQ2_XS => 17,
            IQ3_XXS => 18,
            IQ1_S => 19,
            IQ4_NL => 20,
            IQ3_S => 21,
            IQ2_S => 22,
            IQ4_XS => 23,
            I8 => 24,
            I16 => 25,
            I32 => 26,
            I64 => 27,
            F64 => 28,
            IQ1_M => 29,
            BF16 => 30,
            TQ1_0 => 34,
            TQ2_0 => 35,
            MXFP4 => 39,
        }
    }

    /// Elements per block (1 for plain types, 32 or 256 for quantized ones).
    pub fn block_size(self) -> u64 {
        use GgmlType::*;
        match self {
            F32 | F16 | BF16 | F64 | I8 | I16 | I32 | I64 => 1,
            Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q8_1 | IQ4_NL | MXFP4 => 32,
            Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | Q8_K | IQ2_XXS | IQ2_XS | IQ3_XXS | IQ1_S
            | IQ3_S | IQ2_S | IQ4_XS | IQ1_M | TQ1_0 | TQ2_0 => 256,
        }
    }

    /// Bytes per block, as ggml's `type_size` (from the block structs in `ggml-common.h`).
    pub fn block_bytes(self) -> u64 {
        use GgmlType::*;
        match self {
            F32 | I32 => 4,
            F16 | BF16 | I16 => 2,
            F64 | I64 => 8,
            I8 => 1,
            Q4_0 | IQ4_NL => 18,
            Q4_1 => 20,
            Q5_0 => 22,
            Q5_1 => 24,
            Q8_0 => 34,
            Q8_1 => 36,
            MXFP4 => 17,
            Q2_K => 84,
            Q3_K => 110,
            Q4_K => 144,
            Q5_K => 176,
            Q6_K => 210,
            Q8_K => 292,
            IQ2_XXS => 66,
            IQ2_XS => 74,
            IQ3_XXS => 98,
            IQ1_S => 50,
            IQ3_S => 110,
            IQ2_S => 82,
            IQ4_XS => 136,
            IQ1_M => 56,
            TQ1_0 => 54,
            TQ2_0 => 66,
        }
    }
}

/// One entry of the tensor directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name, for example `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions in ggml order (`ne[0]` first: the contiguous, fastest-varying one).
    pub shape: Vec<u64>,
    /// Storage type.
    pub ggml_type: GgmlType,
    /// Offset of the data relative to the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Size of the data in bytes. Quantized types store whole blocks along `ne[0]`.
    pub fn n_bytes(&self) -> u64 {
        let block = self.ggml_type.block_size();
        self.n_elements() / block * self.ggml_type.block_bytes()
    }
}

/// An open GGUF file: its metadata and tensor directory, with tensor data read on demand.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    file: File,
    version: u32,
    metadata: Vec<(String, GgufValue)>,
    index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    alignment: u64,
    data_offset: u64,
    file_len: u64,
}

impl GgufFile {
    /// Opens `path` and reads the header, metadata and tensor directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GgufError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| GgufError::Io {
            path: path.clone(),
            source,
        })?;
        let file_len = file
            .metadata()
            .map_err(|source| GgufError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        let reader_file = file.try_clone().map_err(|source| GgufError::Io {
            path: path.clone(),
            source,
        })?;
        let cursor_path = path.clone();
        let mut cursor = Cursor {
            inner: BufReader::with_capacity(1 << 20, reader_file),
            position: 0,
            path: &cursor_path,
        };
        let magic: [u8; 4] = cursor.array()?;
        if magic != GGUF_MAGIC {
            return Err(GgufError::NotGguf { path, found: magic });
        }
        let version = cursor.u32()?;
        if !(2..=3).contains(&version) {
            return Err(GgufError::UnsupportedVersion { path, version });
        }
        let tensor_count = cursor.length("tensor count")?;
        let kv_count = cursor.length("metadata count")?;
        let mut metadata = Vec::with_capacity(kv_count.min(4096) as usize);
        let mut index = HashMap::new();
        for _ in 0..kv_count {
            let key = cursor.string()?;
            let tag = cursor.u32()?;
            let value_type = GgufValueType::from_tag(tag).ok_or_else(|| GgufError::Corrupt {
                path: path.clone(),
                offset: cursor.position,
                detail: format!("metadata key {key:?} has unknown value type {tag}"),
            })?;
            let value = cursor.value(value_type)?;
            index.insert(key.clone(), metadata.len());
            metadata.push((key, value));
        }
        let mut tensors = Vec::with_capacity(tensor_count.min(1 << 16) as usize);
        for _ in 0..tensor_count {
            let name = cursor.string()?;
            let n_dims = cursor.u32()?;
            if n_dims > 8 {
                return Err(GgufError::Corrupt {
                    path,
                    offset: cursor.position,
                    detail: format!("tensor {name:?} claims {n_dims} dimensions (ggml allows 4)"),
                });
            }
            let shape = (0..n_dims)
                .map(|_| cursor.u64())
                .collect::<Result<Vec<_>, _>>()?;
            let type_id = cursor.u32()?;
            let ggml_type =
                GgmlType::from_id(type_id).ok_or_else(|| GgufError::UnknownTensorType {
                    path: path.clone(),
                    tensor: name.clone(),
                    type_id,
                })?;
            let offset = cursor.u64()?;
            tensors.push(TensorInfo {
                name,
                shape,
                ggml_type,
                offset,
            });
        }
        let alignment = match index.get("general.alignment") {
            Some(&i) => metadata[i]
                .1
                .as_u64()
                .filter(|a| *a > 0 && a.is_power_of_two())
                .ok_or_else(|| GgufError::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    detail: format!(
                        "general.alignment is {:?}, not a positive power of two",
                        metadata[i].1
                    ),
                })?,
            None => DEFAULT_ALIGNMENT,
        };
        let data_offset = cursor.position.div_ceil(alignment) * alignment;
        let gguf = Self {
            path,
            file,
            version,
            metadata,
            index,
            tensors,
            alignment,
            data_offset,
            file_len,
        };
        for info in &gguf.tensors {
            let end = gguf.data_offset + info.offset + info.n_bytes();
            if end > gguf.file_len {
                return Err(GgufError::Corrupt {
                    path: gguf.path.clone(),
                    offset: gguf.data_offset + info.offset,
                    detail: format!(
                        "tensor {:?} ends at byte {end} but the file has {} bytes (truncated download?)",
                        info.name, gguf.file_len
                    ),
                });
            }
        }
        Ok(gguf)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Alignment of the data section and of each tensor's offset.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute file offset where tensor data starts.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// Every metadata key-value, in file order.
    pub fn metadata(&self) -> &[(String, GgufValue)] {
        &self.metadata
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&GgufValue> {
        self.index.get(key).map(|&i| &self.metadata[i].1)
    }

    /// The value of `key`, or an error naming the missing key.
    pub fn require(&self, key: &str) -> Result<&GgufValue, GgufError> {
        self.get(key).ok_or_else(|| GgufError::MissingKey {
            path: self.path.clone(),
            key: key.to_owned(),
        })
    }

    /// `key` as an unsigned 32-bit integer (any integer type that fits is accepted).
    pub fn get_u32(&self, key: &str) -> Result<u32, GgufError> {
        let value = self.require(key)?;
        value
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.wrong_type(key, "an unsigned 32-bit integer", value))
    }

    /// `key` as an unsigned 64-bit integer.
    pub fn get_u64(&self, key: &str) -> Result<u64, GgufError> {
        let value = self.require(key)?;
        value
            .as_u64()
            .ok_or_else(|| self.wrong_type(key, "an unsigned integer", value))
    }

    /// `key` as a float (`f32` or `f64`).
    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        let value = self.require(key)?;
        value
            .as_f64()
            .ok_or_else(|| self.wrong_type(key, "a float", value))
    }

    /// `key` as a bool.
    pub fn get_bool(&self, key: &str) -> Result<bool, GgufError> {
        let value = self.require(key)?;
        value
            .as_bool()
            .ok_or_else(|| self.wrong_type(key, "a bool", value))
    }

    /// `key` as a string.
    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        let value = self.require(key)?;
        value
            .as_str()
            .ok_or_else(|| self.wrong_type(key, "a string", value))
    }

    /// `key` as an array.
    pub fn get_array(&self, key: &str) -> Result<&[GgufValue], GgufError> {
        let value = self.require(key)?;
        value
            .as_array()
            .ok_or_else(|| self.wrong_type(key, "an array", value))
    }

    /// `key` as an array of strings.
    pub fn get_string_array(&self, key: &str) -> Result<Vec<&str>, GgufError> {
        let value = self.require(key)?;
        let wrong = || self.wrong_type(key, "an array of strings", value);
        value
            .as_array()
            .ok_or_else(wrong)?
            .iter()
            .map(|v| v.as_str().ok_or_else(wrong))
            .collect()
    }

    /// The tensor directory, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor called `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw bytes of one tensor's data, exactly as stored (quantized blocks included).
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<Vec<u8>, GgufError> {
        let len = usize::try_from(info.n_bytes()).map_err(|_| GgufError::Corrupt {
            path: self.path.clone(),
            offset: info.offset,
            detail: format!("tensor {:?} does not fit in memory", info.name),
        })?;
        let mut buffer = vec![0u8; len];
        self.read_at(self.data_offset + info.offset, &mut buffer)?;
        Ok(buffer)
    }

    #[cfg(unix)]
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<(), GgufError> {
        use std::os::unix::fs::FileExt;
        self.file
            .read_exact_at(buffer, offset)
            .map_err(|source| GgufError::Io {
                path: self.path.clone(),
                source,
            })
    }

    #[cfg(not(unix))]
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<(), GgufError> {
        use std::io::{Seek, SeekFrom};
        let io = |source| GgufError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = self.file.try_clone().map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        file.read_exact(buffer).map_err(io)
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &GgufValue) -> GgufError {
        GgufError::WrongType {
            path: self.path.clone(),
            key: key.to_owned(),
            expected,
            found: found.value_type(),
        }
    }
}

/// A little-endian reader that tracks its position for error messages.
struct Cursor<'a, R> {
    inner: R,
    position: u64,
    path: &'a Path,
}

impl<R: Read> Cursor<'_, R> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut bytes = [0u8; N];
        self.inner.read_exact(&mut bytes).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                GgufError::Corrupt {
                    path: self.path.to_path_buf(),
                    offset: self.position,
                    detail: "file ends inside the header".into(),
                }
            } else {
                GgufError::Io {
                    path: self.path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        self.position += N as u64;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn length(&mut self, what: &str) -> Result<u64, GgufError> {
        let offset = self.position;
        let n = self.u64()?;
        if n > MAX_LENGTH {
            return Err(GgufError::Corrupt {
                path: self.path.to_path_buf(),
                offset,
                detail: format!("{what} {n} is implausibly large"),
            });
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let offset = self.position;
        let len = self.length("string length")? as usize;
        let mut bytes = vec![0u8; len];
        self.inner
            .read_exact(&mut bytes)
            .map_err(|source| GgufError::Io {
                path: self.path.to_path_buf(),
                source,
            })?;
        self.position += len as u64;
        String::from_utf8(bytes).map_err(|_| GgufError::Corrupt {
            path: self.path.to_path_buf(),
            offset,
            detail: "a string is not valid UTF-8".into(),
        })
    }

    fn value(&mut self, value_type: GgufValueType) -> Result<GgufValue, GgufError> {
        Ok(match value_type {
            GgufValueType::U8 => GgufValue::U8(u8::from_le_bytes(self.array()?)),
            GgufValueType::I8 => GgufValue::I8(i8::from_le_bytes(self.array()?)),
            GgufValueType::U16 => GgufValue::U16(u16::from_le_bytes(self.array()?)),
            GgufValueType::I16 => GgufValue::I16(i16::from_le_bytes(self.array()?)),
            GgufValueType::U32 => GgufValue::U32(self.u32()?),
            GgufValueType::I32 => GgufValue::I32(i32::from_le_bytes(self.array()?)),
            GgufValueType::F32 => GgufValue::F32(f32::from_le_bytes(self.array()?)),
            GgufValueType::Bool => {
                let offset = self.position;
                match self.array::<1>()?[0] {
                    0 => GgufValue::Bool(false),
                    1 => GgufValue::Bool(true),
                    other => {
                        return Err(GgufError::Corrupt {
                            path: self.path.to_path_buf(),
                            offset,
                            detail: format!("bool byte is {other}, not 0 or 1"),
                        });
                    }
                }
            }
            GgufValueType::String => GgufValue::String(self.string()?),
            GgufValueType::Array => {
                let offset = self.position;
                let tag = self.u32()?;
                let item_type = GgufValueType::from_tag(tag).ok_or_else(|| GgufError::Corrupt {
                    path: self.path.to_path_buf(),
                    offset,
                    detail: format!("array has unknown element type {tag}"),
                })?;
                let n = self.length("array length")?;
                let mut values = Vec::with_capacity(n.min(1 << 20) as usize);
                for _ in 0..n {
                    values.push(self.value(item_type)?);
                }
                GgufValue::Array { item_type, values }
            }
            GgufValueType::U64 => GgufValue::U64(self.u64()?),
            GgufValueType::I64 => GgufValue::I64(i64::from_le_bytes(self.array()?)),
            GgufValueType::F64 => GgufValue::F64(f64::from_le_bytes(self.array()?)),
        })
    }
}
