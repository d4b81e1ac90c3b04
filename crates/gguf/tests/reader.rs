//! The GGUF reader on a hand-encoded file covering every metadata type, on broken files, and on
//! the real SmolLM2 GGUF from the asset cache.

mod common;

use common::{TestTensor, encode, i32s, strings};
use gguf::{GgmlType, GgufError, GgufFile, GgufValue, GgufValueType};

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn every_type() -> Vec<(&'static str, GgufValue)> {
    vec![
        ("t.u8", GgufValue::U8(200)),
        ("t.i8", GgufValue::I8(-5)),
        ("t.u16", GgufValue::U16(60_000)),
        ("t.i16", GgufValue::I16(-30_000)),
        ("t.u32", GgufValue::U32(4_000_000_000)),
        ("t.i32", GgufValue::I32(-2_000_000_000)),
        ("t.f32", GgufValue::F32(1.5)),
        ("t.bool", GgufValue::Bool(true)),
        ("t.string", GgufValue::String("héllo ✓".into())),
        ("t.u64", GgufValue::U64(u64::MAX)),
        ("t.i64", GgufValue::I64(i64::MIN)),
        ("t.f64", GgufValue::F64(-2.25)),
        ("t.strings", strings(&["a", "", "ĠThe"])),
        ("t.ints", i32s(&[1, -2, 3])),
        (
            "t.nested",
            GgufValue::Array {
                item_type: GgufValueType::Array,
                values: vec![i32s(&[7]), i32s(&[8, 9])],
            },
        ),
        ("general.alignment", GgufValue::U32(64)),
    ]
}

#[test]
fn every_metadata_type_and_the_tensor_directory_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f32_data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let q8_data: Vec<u8> = (0..68u8).collect(); // Two Q8_0 blocks of 34 bytes.
    let tensors = vec![
        TestTensor {
            name: "a.weight".into(),
            shape: vec![3, 2],
            type_id: 0,
            data: f32_data.clone(),
        },
        TestTensor {
            name: "b.weight".into(),
            shape: vec![64],
            type_id: 8,
            data: q8_data.clone(),
        },
    ];
    let metadata = every_type();
    let path = write(&dir, "all.gguf", &encode(&metadata, &tensors, 64));
    let file = GgufFile::open(&path).expect("open");
    assert_eq!(file.version(), 3);
    assert_eq!(file.alignment(), 64);
    assert_eq!(file.data_offset() % 64, 0);
    for (key, value) in &metadata {
        assert_eq!(file.get(key), Some(value), "{key}");
    }
    assert_eq!(file.metadata().len(), metadata.len());
    assert_eq!(file.get_u32("t.u16").expect("u16 widens"), 60_000);
    assert_eq!(file.get_u64("t.u64").expect("u64"), u64::MAX);
    assert_eq!(file.get_str("t.string").expect("string"), "héllo ✓");
    assert_eq!(
        file.get_string_array("t.strings").expect("strings"),
        vec!["a", "", "ĠThe"]
    );
    assert_eq!(file.get_array("t.ints").expect("ints").len(), 3);
    assert!(file.get_bool("t.bool").expect("bool"));
    assert_eq!(file.get_f64("t.f32").expect("f32"), 1.5);

    let infos = file.tensors();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0].name, "a.weight");
    assert_eq!(infos[0].shape, vec![3, 2]);
    assert_eq!(infos[0].ggml_type, GgmlType::F32);
    assert_eq!(infos[1].ggml_type, GgmlType::Q8_0);
    assert_eq!(infos[1].n_bytes(), 68);
    assert_eq!(infos[1].offset % 64, 0);
    assert_eq!(file.tensor_bytes(&infos[0]).expect("a"), f32_data);
    let b = file.tensor("b.weight").expect("b listed");
    assert_eq!(file.tensor_bytes(b).expect("b"), q8_data);
}

#[test]
fn wrong_types_and_missing_keys_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "m.gguf", &encode(&every_type(), &[], 32));
    let file = GgufFile::open(&path).expect("open");
    assert!(matches!(
        file.get_u32("t.i8"),
        Err(GgufError::WrongType {
            expected: "an unsigned 32-bit integer",
            ..
        })
    ));
    assert!(matches!(
        file.get_str("t.u8"),
        Err(GgufError::WrongType {
            found: GgufValueType::U8,
            ..
        })
    ));
    assert!(
        matches!(file.get_str("absent"), Err(GgufError::MissingKey { key, .. }) if key == "absent")
    );
}

#[test]
fn bad_magic_truncation_and_unknown_types_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not = write(&dir, "not.gguf", b"PK\x03\x04 definitely a zip");
    assert!(
        matches!(GgufFile::open(&not), Err(GgufError::NotGguf { found, .. }) if &found == b"PK\x03\x04")
    );

    let tensors = vec![TestTensor {
        name: "w".into(),
        shape: vec![8],
        type_id: 0,
        data: vec![0; 32],
    }];
    let full = encode(&[("k", GgufValue::U32(1))], &tensors, 32);
    let cut = write(&dir, "cut.gguf", &full[..full.len() - 4]);
    assert!(
        matches!(GgufFile::open(&cut), Err(GgufError::Corrupt { detail, .. }) if detail.contains("truncated"))
    );
    let header_cut = write(&dir, "hcut.gguf", &full[..20]);
    assert!(matches!(
        GgufFile::open(&header_cut),
        Err(GgufError::Corrupt { .. })
    ));

    let unknown = vec![TestTensor {
        name: "w".into(),
        shape: vec![8],
        type_id: 99,
        data: vec![0; 32],
    }];
    let path = write(&dir, "unknown.gguf", &encode(&[], &unknown, 32));
    assert!(matches!(
        GgufFile::open(&path),
        Err(GgufError::UnknownTensorType { type_id: 99, .. })
    ));
}

#[test]
fn the_smollm2_gguf_reads_with_its_architecture_and_every_tensor_in_bounds() {
    let path = assets::AssetCache::from_env()
        .and_then(|c| c.chat_model_gguf())
        .expect("the chat model is installed (cargo xtask setup)");
    let file = GgufFile::open(&path).expect("open SmolLM2");
    assert_eq!(file.get_str("general.architecture").expect("arch"), "llama");
    assert_eq!(file.get_u32("llama.block_count").expect("blocks"), 30);
    assert_eq!(file.get_u32("llama.embedding_length").expect("d"), 576);
    assert_eq!(
        file.get_u32("llama.attention.head_count").expect("heads"),
        9
    );
    assert_eq!(
        file.get_u32("llama.attention.head_count_kv")
            .expect("kv heads"),
        3
    );
    assert_eq!(
        file.get_string_array("tokenizer.ggml.tokens")
            .expect("tokens")
            .len(),
        49_152
    );
    assert_eq!(file.get_str("tokenizer.ggml.model").expect("model"), "gpt2");
    let file_len = std::fs::metadata(&path).expect("stat").len();
    let mut end = 0;
    for t in file.tensors() {
        assert_eq!(t.offset % file.alignment(), 0, "{} aligned", t.name);
        assert_eq!(
            t.n_elements() % t.ggml_type.block_size(),
            0,
            "{} whole blocks",
            t.name
        );
        end = end.max(file.data_offset() + t.offset + t.n_bytes());
    }
    // The directory accounts for the whole file: the last tensor ends where the file ends.
    assert!(
        file_len - end < file.alignment(),
        "{file_len} bytes, last tensor ends at {end}"
    );
    let embd = file.tensor("token_embd.weight").expect("token embeddings");
    assert_eq!(embd.shape, vec![576, 49_152]);
    assert_eq!(
        file.tensor_bytes(embd).expect("bytes").len() as u64,
        embd.n_bytes()
    );
    assert_eq!(
        file.tensors().len(),
        2 + 30 * 9,
        "output norm, embeddings and 9 tensors per block"
    );
}
