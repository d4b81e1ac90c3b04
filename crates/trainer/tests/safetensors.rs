//! HF safetensors loading: a tiny random Llama (GQA, untied head, Llama 3 rope scaling) written
//! as an HF directory the way `transformers` saves one (`config.json`, two shards in HF tensor
//! names and rotate-half rotary layout, `model.safetensors.index.json`; one shard F32, one BF16)
//! loads through `SafetensorsWeights` into a model whose logits equal those of the same weights
//! handed over in memory; a missing shard and a wrong shape fail with typed errors.

#![allow(clippy::unwrap_used)] // Tests unwrap: the panic message is the failure report.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use tch::{Device, Kind, Tensor};
use trainer::config::Llama3RopeScaling;
use trainer::model::{BuildOptions, LlamaModel, RandomWeights, WeightSource};
use trainer::weights::SafetensorsWeights;
use trainer::{ModelConfig, TrainerError};

const SHARD_1: &str = "model-00001-of-00002.safetensors";
const SHARD_2: &str = "model-00002-of-00002.safetensors";

fn config() -> ModelConfig {
    ModelConfig {
        tie_word_embeddings: false,
        rope_theta: 500_000.0,
        rope_scaling: Some(Llama3RopeScaling {
            factor: 32.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 64.0,
        }),
        ..ModelConfig::tiny(97)
    }
}

/// Every HF tensor name of `c`, in the order `transformers` writes them.
fn names(c: &ModelConfig) -> Vec<String> {
    let mut out = vec!["model.embed_tokens.weight".to_owned()];
    for i in 0..c.num_layers {
        for m in [
            "input_layernorm",
            "self_attn.q_proj",
            "self_attn.k_proj",
            "self_attn.v_proj",
            "self_attn.o_proj",
            "post_attention_layernorm",
            "mlp.gate_proj",
            "mlp.up_proj",
            "mlp.down_proj",
        ] {
            out.push(format!("model.layers.{i}.{m}.weight"));
        }
    }
    out.push("model.norm.weight".into());
    out.push("lm_head.weight".into());
    out
}

/// The reference: weights held in memory, in HF names and layout.
struct InMemory {
    config: ModelConfig,
    tensors: BTreeMap<String, Tensor>,
}

impl WeightSource for InMemory {
    fn config(&self) -> &ModelConfig {
        &self.config
    }
    fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }
    fn load(&mut self, name: &str) -> Result<Tensor, TrainerError> {
        self.tensors
            .get(name)
            .map(Tensor::copy)
            .ok_or_else(|| TrainerError::MissingTensor {
                name: name.to_owned(),
                path: "<memory>".into(),
            })
    }
}

/// Random weights for `config()`; the norms are perturbed so they are not all ones, and the
/// second shard's tensors are rounded to BF16 as that shard stores them.
fn random_weights(seed: i64) -> InMemory {
    tch::manual_seed(seed);
    let c = config();
    let mut random = RandomWeights::new(c.clone());
    let mut tensors = BTreeMap::new();
    for (i, name) in names(&c).into_iter().enumerate() {
        let mut t = random.load(&name).unwrap();
        if name.ends_with("norm.weight") {
            let noise = Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.1;
            t = t + noise;
        }
        if in_second_shard(i) {
            t = t.to_kind(Kind::BFloat16).to_kind(Kind::Float);
        }
        tensors.insert(name, t);
    }
    InMemory { config: c, tensors }
}

fn in_second_shard(index: usize) -> bool {
    index >= 10
}

fn raw_bytes(t: &Tensor, kind: Kind) -> Vec<u8> {
    let t = t.to_kind(kind).contiguous();
    let mut out = vec![0u8; t.numel() * kind.elt_size_in_bytes()];
    t.copy_data_u8(&mut out, t.numel());
    out
}

/// Writes `weights` as an HF directory in `dir`. `shape_override` replaces one tensor's data
/// (to plant a wrong shape).
fn write_hf_dir(dir: &Path, weights: &InMemory, shape_override: Option<(&str, Tensor)>) {
    let c = &weights.config;
    let hf_config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_layers,
        "num_attention_heads": c.num_heads,
        "num_key_value_heads": c.num_kv_heads,
        "head_dim": c.head_dim,
        "rms_norm_eps": c.rms_norm_eps,
        "rope_theta": c.rope_theta,
        "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
        "tie_word_embeddings": false,
        "max_position_embeddings": c.max_position_embeddings,
        "hidden_act": "silu",
        "torch_dtype": "bfloat16",
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&hf_config).unwrap(),
    )
    .unwrap();
    let mut shards: [Vec<(String, Dtype, Vec<usize>, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    let mut weight_map = serde_json::Map::new();
    for (i, name) in names(c).into_iter().enumerate() {
        let mut t = weights.tensors[&name].shallow_clone();
        if let Some((n, planted)) = &shape_override {
            if *n == name {
                t = planted.shallow_clone();
            }
        }
        let second = in_second_shard(i);
        let (dtype, kind) = if second {
            (Dtype::BF16, Kind::BFloat16)
        } else {
            (Dtype::F32, Kind::Float)
        };
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let file = if second { SHARD_2 } else { SHARD_1 };
        weight_map.insert(name.clone(), file.into());
        shards[usize::from(second)].push((name, dtype, shape, raw_bytes(&t, kind)));
    }
    for (file, tensors) in [SHARD_1, SHARD_2].iter().zip(&shards) {
        let views: Vec<(String, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        let meta = Some([("format".to_owned(), "pt".to_owned())].into());
        std::fs::write(dir.join(file), safetensors::serialize(views, meta).unwrap()).unwrap();
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": weight_map});
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();
}

fn options() -> BuildOptions {
    BuildOptions {
        quantize: false,
        double_quant: false,
        lora: None,
        device: Device::Cpu,
        compute_kind: Kind::Float,
    }
}

fn logits(model: &LlamaModel, ids: &Tensor) -> Tensor {
    tch::no_grad(|| model.logits(&model.hidden_states(ids, None, None, false)))
}

#[test]
fn sharded_hf_directory_loads_to_the_same_logits_as_the_weights_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = random_weights(11);
    write_hf_dir(dir.path(), &reference, None);

    let mut loaded_source = SafetensorsWeights::open(dir.path()).unwrap();
    assert_eq!(loaded_source.config(), &config());
    assert!(loaded_source.contains("lm_head.weight"));
    let loaded = LlamaModel::build(&mut loaded_source, &options()).unwrap();
    let expected = LlamaModel::build(&mut reference, &options()).unwrap();

    tch::manual_seed(5);
    let ids = Tensor::randint(97, [2, 40], (Kind::Int64, Device::Cpu));
    let (a, b) = (logits(&loaded, &ids), logits(&expected, &ids));
    assert_eq!(a.size(), vec![2, 40, 97]);
    let diff = (&a - &b).abs().max().double_value(&[]);
    assert_eq!(diff, 0.0, "logits differ by up to {diff}");
    // The logits are not degenerate: the positions are distinguishable, so a lost rotary table
    // or a swapped shard would show.
    let spread = a.std(false).double_value(&[]);
    assert!(spread > 0.1, "logit std {spread}");

    // Each shard's tensors are where the index says: a BF16 tensor reads back to the rounded
    // value, an F32 one exactly.
    let mut src = SafetensorsWeights::open(dir.path()).unwrap();
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        let got = src.load(name).unwrap();
        let want = &reference.tensors[name];
        assert_eq!(got.size(), want.size(), "{name}");
        assert_eq!(
            (&got - want).abs().max().double_value(&[]),
            0.0,
            "{name} differs"
        );
    }
}

#[test]
fn a_missing_shard_is_a_typed_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_hf_dir(dir.path(), &random_weights(12), None);
    std::fs::remove_file(dir.path().join(SHARD_2)).unwrap();
    let err = SafetensorsWeights::open(dir.path()).unwrap_err();
    match &err {
        TrainerError::Io { path, source, .. } => {
            assert_eq!(path, &dir.path().join(SHARD_2));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an Io error naming the shard, got {other:?}"),
    }
    assert!(err.to_string().contains(SHARD_2), "{err}");
}

#[test]
fn a_wrong_shape_is_a_typed_error_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let c = config();
    // k_proj transposed: [hidden, kv_heads·head_dim] instead of [kv_heads·head_dim, hidden].
    let name = "model.layers.1.self_attn.k_proj.weight";
    let wrong = Tensor::zeros(
        [c.hidden_size, c.num_kv_heads * c.head_dim],
        (Kind::Float, Device::Cpu),
    );
    write_hf_dir(dir.path(), &random_weights(13), Some((name, wrong)));
    let mut src = SafetensorsWeights::open(dir.path()).unwrap();
    let err = LlamaModel::build(&mut src, &options()).unwrap_err();
    match err {
        TrainerError::TensorShape {
            name: got_name,
            expected,
            got,
        } => {
            assert_eq!(got_name, name);
            assert_eq!(expected, vec![c.num_kv_heads * c.head_dim, c.hidden_size]);
            assert_eq!(got, vec![c.hidden_size, c.num_kv_heads * c.head_dim]);
        }
        other => panic!("expected a TensorShape error, got {other:?}"),
    }
}
