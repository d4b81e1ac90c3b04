//! Dequantization of GGUF tensor data to f32: F32, F16, BF16, Q8_0, Q4_0 and Q4_1, the types of
//! the shipped SmolLM2 file (Q4_1 projections, Q8_0 embedding) and of common Llama conversions.
//!
//! Each function decodes one tensor's raw bytes (as [`crate::GgufFile::tensor_bytes`] returns
//! them) into row-major values, so a loader can stream a model tensor by tensor. The block
//! layouts are those of `ggml-common.h` (`block_q4_0` = f16 scale + 16 bytes of nibbles, low
//! nibbles first, …).

use crate::reader::GgmlType;

/// Why a tensor could not be dequantized.
#[derive(Debug, thiserror::Error)]
pub enum DequantError {
    /// The type has no decoder here.
    #[error(
        "ggml type {ggml_type:?} cannot be dequantized yet; convert the model to F16, Q8_0, Q4_0 or Q4_1"
    )]
    Unsupported {
        /// The tensor's type.
        ggml_type: GgmlType,
    },
    /// The byte count does not match the element count.
    #[error(
        "{ggml_type:?} data of {got} bytes cannot hold {n_elements} elements ({expected} bytes expected)"
    )]
    Length {
        /// The tensor's type.
        ggml_type: GgmlType,
        /// Elements requested.
        n_elements: usize,
        /// Bytes the type needs for them.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
}

/// Converts an IEEE half-precision value to f32 (subnormals, infinities and NaN included).
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let mant = u32::from(bits & 0x3ff);
    let out = match (exp, mant) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal half: normalise the mantissa into an f32 exponent.
            let mut e: i32 = -14;
            let mut m = m;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            let m = m & 0x3ff;
            sign | (((e + 127) as u32) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(out)
}

fn half_at(bytes: &[u8], i: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([bytes[i], bytes[i + 1]]))
}

/// Decodes `n_elements` values of `ggml_type` from `bytes`.
pub fn dequantize(
    ggml_type: GgmlType,
    bytes: &[u8],
    n_elements: usize,
) -> Result<Vec<f32>, DequantError> {
    let block = ggml_type.block_size() as usize;
    let block_bytes = ggml_type.block_bytes() as usize;
    let expected = n_elements.div_ceil(block) * block_bytes;
    if bytes.len() != expected || n_elements % block != 0 {
        return Err(DequantError::Length {
            ggml_type,
            n_elements,
            expected,
            got: bytes.len(),
        });
    }
    let mut out = Vec::with_capacity(n_elements);
    match ggml_type {
        GgmlType::F32 => {
            out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
        }
        GgmlType::F16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))),
        ),
        GgmlType::BF16 => {
            out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)),
            );
        }
        GgmlType::Q8_0 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = half_at(b, 0);
                out.extend(b[2..34].iter().map(|&q| f32::from(q as i8) * d));
            }
        }
        GgmlType::Q4_0 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = half_at(b, 0);
                let qs = &b[2..18];
                out.extend(qs.iter().map(|&q| (f32::from(q & 0x0f) - 8.0) * d));
                out.extend(qs.iter().map(|&q| (f32::from(q >> 4) - 8.0) * d));
            }
        }
        GgmlType::Q4_1 => {
            for b in bytes.chunks_exact(block_bytes) {
                let d = half_at(b, 0);
                let m = half_at(b, 2);
                let qs = &b[4..20];
                out.extend(qs.iter().map(|&q| f32::from(q & 0x0f) * d + m));
                out.extend(qs.iter().map(|&q| f32::from(q >> 4) * d + m));
            }
        }
        other => return Err(DequantError::Unsupported { ggml_type: other }),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }

    #[test]
    fn q4_1_block_decodes_low_nibbles_first() {
        // d = 0.5, m = -1.0; byte j holds element j (low) and element j + 16 (high).
        let mut block = vec![0x00, 0x38, 0x00, 0xbc];
        block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let v = dequantize(GgmlType::Q4_1, &block, 32).expect("one block");
        assert_eq!(v[0], -1.0);
        assert_eq!(v[3], 0.5);
        assert_eq!(v[16], 6.5);
        assert_eq!(v[31], -1.0);
    }

    #[test]
    fn q8_0_and_q4_0_scale_signed_values() {
        let mut q8 = vec![0x00, 0x40];
        q8.extend((0..32i8).map(|i| (i - 16) as u8));
        let v = dequantize(GgmlType::Q8_0, &q8, 32).expect("one block");
        assert_eq!(v[0], -32.0);
        assert_eq!(v[31], 30.0);
        let mut q4 = vec![0x00, 0x3c];
        q4.extend(std::iter::repeat_n(0x9f, 16));
        let v = dequantize(GgmlType::Q4_0, &q4, 32).expect("one block");
        assert_eq!((v[0], v[16]), (7.0, 1.0));
    }

    #[test]
    fn wrong_length_is_an_error() {
        let err = dequantize(GgmlType::Q4_1, &[0; 19], 32).expect_err("one byte short");
        assert!(matches!(
            err,
            DequantError::Length {
                expected: 20,
                got: 19,
                ..
            }
        ));
    }
}
