//! NF4 (4-bit NormalFloat) block quantization of frozen base weights, as in QLoRA
//! (Dettmers et al., 2023) and bitsandbytes.
//!
//! Weights are cut into blocks of 64 values; each block stores its absolute maximum and 64
//! 4-bit indices into the 16 NF4 levels (quantiles of a standard normal, rescaled to [-1, 1]),
//! two per byte. Double quantization stores the absmax values themselves as int8, in blocks of
//! 256 with one f32 scale each, after subtracting their mean. Dequantization is a table lookup
//! and a multiply, done in the forward pass into the compute dtype, so only the 4-bit copy stays
//! resident.

use tch::{Device, Kind, Tensor};

/// Values per absmax block.
pub const BLOCK_SIZE: i64 = 64;
/// Absmax values per block of the second (double) quantization.
pub const DOUBLE_QUANT_BLOCK: i64 = 256;

/// The 16 NF4 levels, exactly as bitsandbytes defines them.
pub const NF4_LEVELS: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];

/// The largest gap between adjacent levels, halved: the worst-case rounding error relative to a
/// block's absmax (between -1 and -0.696).
pub fn max_relative_error() -> f32 {
    NF4_LEVELS
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(0.0, f32::max)
        / 2.0
}

/// How the absmax values are stored.
#[derive(Debug)]
enum Absmax {
    /// One f32 per block.
    Plain(Tensor),
    /// int8 codes (stored as i8), one f32 scale per 256 codes, and the subtracted mean.
    Double {
        codes: Tensor,
        scales: Tensor,
        offset: f32,
        len: i64,
    },
}

/// A frozen weight matrix quantized to NF4.
#[derive(Debug)]
pub struct Nf4Tensor {
    /// Two 4-bit indices per byte (high nibble first), `numel/2` bytes.
    packed: Tensor,
    absmax: Absmax,
    shape: Vec<i64>,
    numel: i64,
}

impl Nf4Tensor {
    /// Quantizes `weight` (any float dtype, any shape). Pads the tail block with zeros.
    pub fn quantize(weight: &Tensor, double_quant: bool) -> Self {
        tch::no_grad(|| {
            let device = weight.device();
            let shape = weight.size();
            let numel = weight.numel() as i64;
            let flat = weight.to_kind(Kind::Float).flatten(0, -1);
            let blocks = (numel + BLOCK_SIZE - 1) / BLOCK_SIZE;
            let pad = blocks * BLOCK_SIZE - numel;
            let flat = if pad > 0 {
                Tensor::cat(&[flat, Tensor::zeros([pad], (Kind::Float, device))], 0)
            } else {
                flat
            };
            let blocked = flat.view([blocks, BLOCK_SIZE]);
            let absmax = blocked.abs().amax([1], true);
            // An all-zero block divides by one instead of zero; every index then lands on 0.0.
            let safe = absmax.where_scalarother(&absmax.gt(0.0), 1.0);
            let normalized = &blocked / &safe;
            let idx = normalized
                .bucketize(&midpoints(device), false, false)
                .to_kind(Kind::Uint8);
            let idx = idx.view([blocks * BLOCK_SIZE / 2, 2]);
            let packed = idx.select(1, 0) * 16 + idx.select(1, 1);
            let absmax = absmax.view([blocks]);
            let absmax = if double_quant {
                quantize_absmax(&absmax)
            } else {
                Absmax::Plain(absmax)
            };
            Self {
                packed,
                absmax,
                shape,
                numel,
            }
        })
    }

    /// The original shape.
    pub fn shape(&self) -> &[i64] {
        &self.shape
    }

    /// Bytes held by the quantized form (indices plus absmax storage).
    pub fn storage_bytes(&self) -> i64 {
        let absmax = match &self.absmax {
            Absmax::Plain(t) => t.numel() as i64 * 4,
            Absmax::Double { codes, scales, .. } => {
                codes.numel() as i64 + scales.numel() as i64 * 4 + 4
            }
        };
        self.packed.numel() as i64 + absmax
    }

    /// Dequantizes to `kind` (f32 on CPU, bf16 on CUDA), in the original shape. No gradient is
    /// tracked: the base weights are frozen.
    pub fn dequantize(&self, kind: Kind) -> Tensor {
        tch::no_grad(|| {
            let device = self.packed.device();
            let hi = self.packed.floor_divide_scalar(16);
            let lo = self.packed.remainder(16);
            let idx = Tensor::stack(&[hi, lo], 1)
                .flatten(0, -1)
                .to_kind(Kind::Int64);
            let levels = Tensor::from_slice(&NF4_LEVELS).to_device(device);
            let values = levels.index_select(0, &idx).view([-1, BLOCK_SIZE]);
            let absmax = self.absmax_values().view([-1, 1]);
            (values * absmax)
                .flatten(0, -1)
                .narrow(0, 0, self.numel)
                .view(self.shape.as_slice())
                .to_kind(kind)
        })
    }

    fn absmax_values(&self) -> Tensor {
        match &self.absmax {
            Absmax::Plain(t) => t.shallow_clone(),
            Absmax::Double {
                codes,
                scales,
                offset,
                len,
            } => {
                let v = codes.to_kind(Kind::Float).view([-1, DOUBLE_QUANT_BLOCK])
                    * scales.view([-1, 1]);
                v.flatten(0, -1).narrow(0, 0, *len) + f64::from(*offset)
            }
        }
    }

    /// Moves the quantized storage to `device`.
    pub fn to_device(&self, device: Device) -> Self {
        let absmax = match &self.absmax {
            Absmax::Plain(t) => Absmax::Plain(t.to_device(device)),
            Absmax::Double {
                codes,
                scales,
                offset,
                len,
            } => Absmax::Double {
                codes: codes.to_device(device),
                scales: scales.to_device(device),
                offset: *offset,
                len: *len,
            },
        };
        Self {
            packed: self.packed.to_device(device),
            absmax,
            shape: self.shape.clone(),
            numel: self.numel,
        }
    }
}

/// Midpoints between adjacent levels: `bucketize` against them gives the nearest level's index.
fn midpoints(device: Device) -> Tensor {
    let mids: Vec<f32> = NF4_LEVELS.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    Tensor::from_slice(&mids).to_device(device)
}

/// The second quantization: absmax minus its mean, int8 per 256-value block with a symmetric
/// f32 scale. The mean is subtracted because absmax values are all positive, which would waste
/// the sign bit.
fn quantize_absmax(absmax: &Tensor) -> Absmax {
    let len = absmax.size()[0];
    let offset = absmax.mean(Kind::Float).double_value(&[]) as f32;
    let centered = absmax - f64::from(offset);
    let blocks = (len + DOUBLE_QUANT_BLOCK - 1) / DOUBLE_QUANT_BLOCK;
    let pad = blocks * DOUBLE_QUANT_BLOCK - len;
    let centered = if pad > 0 {
        Tensor::cat(
            &[
                centered,
                Tensor::zeros([pad], (Kind::Float, absmax.device())),
            ],
            0,
        )
    } else {
        centered
    };
    let blocked = centered.view([blocks, DOUBLE_QUANT_BLOCK]);
    let scale = blocked.abs().amax([1], true) / 127.0;
    let safe = scale.where_scalarother(&scale.gt(0.0), 1.0);
    let codes = (&blocked / &safe)
        .round()
        .clamp(-127.0, 127.0)
        .to_kind(Kind::Int8);
    Absmax::Double {
        codes,
        scales: safe.view([blocks]),
        offset,
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_abs(t: &Tensor) -> f64 {
        t.abs().max().double_value(&[])
    }

    #[test]
    fn levels_round_trip_exactly() {
        // A block holding every level scaled by 3 is representable without error.
        let mut v: Vec<f32> = NF4_LEVELS.iter().map(|x| x * 3.0).collect();
        v.extend(std::iter::repeat_n(0.0, 64 - 16));
        let t = Tensor::from_slice(&v);
        let q = Nf4Tensor::quantize(&t, false);
        assert!(max_abs(&(q.dequantize(Kind::Float) - &t)) < 1e-6);
    }

    #[test]
    fn odd_shapes_keep_shape_and_bound() {
        tch::manual_seed(3);
        let w = Tensor::randn([7, 19], (Kind::Float, Device::Cpu));
        for dq in [false, true] {
            let q = Nf4Tensor::quantize(&w, dq);
            let d = q.dequantize(Kind::Float);
            assert_eq!(d.size(), vec![7, 19]);
            let bound = max_abs(&w) * f64::from(max_relative_error()) * 1.02;
            assert!(max_abs(&(d - &w)) <= bound);
        }
    }
}
