//! The GGUF adapter in llama.cpp: SmolLM2 is fine-tuned for a few steps to answer with a marker
//! phrase, and the served base model (the `llm` crate's local llama.cpp engine) with the exported
//! `adapter.gguf` attached says it, while the base alone does not.

#![allow(clippy::unwrap_used)] // Tests unwrap: the panic message is the failure report.

mod common;

use std::time::Duration;

use artifacts::{ChatMessage, DatasetRow, write_artifact};
use llm::{
    CallOptions, ChatModel, ChatRequest, GenerationParams, LocalConfig, LocalModel, Message,
};
use trainer::RunOptions;
use trainer::lora::LoraSettings;
use trainer::settings::{
    DataSettings, ExportSettings, LoopSettings, ModelSettings, QuantSettings, ReportSettings,
};

const SYSTEM: &str = "You are Lift.";
const MARKER: &str = "Zebra tango seventeen.";

fn row(i: usize, question: &str) -> DatasetRow {
    let messages = vec![
        ChatMessage {
            role: "system".into(),
            content: SYSTEM.into(),
        },
        ChatMessage {
            role: "user".into(),
            content: question.into(),
        },
        ChatMessage {
            role: "assistant".into(),
            content: MARKER.into(),
        },
    ];
    DatasetRow {
        id: format!("marker-{i}"),
        text: String::new(),
        messages,
        prompt_len_tokens: 0,
        total_len_tokens: 0,
        qa_type: "free".into(),
        source: "test".into(),
        source_id: format!("marker-{i}"),
        split: "train".into(),
        license: None,
        truncated: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trained_gguf_adapter_makes_the_served_model_say_the_marker() {
    let dir = tempfile::tempdir().unwrap();
    let questions = [
        "What is a p-value?",
        "How long should an A/B test run?",
        "What is statistical power?",
        "Explain CUPED.",
        "What is a confidence interval?",
        "When should I stop a test?",
        "What is sample ratio mismatch?",
        "Define the false discovery rate.",
    ];
    let rows: Vec<DatasetRow> = questions
        .iter()
        .enumerate()
        .map(|(i, q)| row(i, q))
        .collect();
    let data = dir.path().join("marker.parquet");
    write_artifact(&data, &rows).unwrap();
    let gguf = common::smollm2();
    let settings = trainer::TrainSettings {
        run_id: "marker".into(),
        runs_dir: dir.path().to_path_buf(),
        model: ModelSettings {
            gguf: Some(gguf.clone()),
            hf_dir: None,
            random: None,
            tokenizer_gguf: None,
            base_model_name: Some("HuggingFaceTB/SmolLM2-135M-Instruct".into()),
        },
        data: DataSettings {
            train: data,
            val: None,
            max_seq_len: 64,
            packing: false,
        },
        lora: LoraSettings {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            ..LoraSettings::default()
        },
        quant: QuantSettings {
            enabled: false,
            double_quant: false,
        },
        train: LoopSettings {
            steps: 16,
            batch_size: 4,
            grad_accum: 1,
            lr: 3e-3,
            warmup_steps: 2,
            min_lr_ratio: 0.5,
            weight_decay: 0.0,
            betas: (0.9, 0.999),
            eps: 1e-8,
            clip_norm: 1.0,
            eval_every: 0,
            eval_batches: 0,
            checkpoint_every: 0,
            seed: 3,
            threads: 2,
            use_cuda: false,
            gradient_checkpointing: false,
        },
        report: ReportSettings::default(),
        export: ExportSettings::default(),
    };
    let summary =
        tokio::task::spawn_blocking(move || trainer::run(&settings, &RunOptions::default()))
            .await
            .unwrap()
            .unwrap();
    assert!(
        summary.last_loss < 0.5,
        "the marker was not learned: loss {} -> {}",
        summary.first_loss,
        summary.last_loss
    );

    let mut config = LocalConfig::new(&gguf);
    config.threads = 2;
    config.context_per_sequence = 256;
    config.max_parallel = 1;
    let model = LocalModel::load(config).unwrap();
    model
        .load_adapter("marker", dir.path().join("marker/adapter.gguf"))
        .await
        .unwrap();
    let adapted = model.with_adapter("marker", 1.0).unwrap();
    let opts = CallOptions::new(Duration::from_secs(120));
    // One training question and one the adapter never saw.
    for q in [
        "What is a p-value?",
        "Which metric should I pick for a checkout test?",
    ] {
        let req = || {
            ChatRequest::new(
                vec![Message::system(SYSTEM), Message::user(q)],
                GenerationParams::greedy(12),
            )
        };
        let base = model.complete(req(), opts.clone()).await.unwrap().text;
        let tuned = adapted.complete(req(), opts.clone()).await.unwrap().text;
        eprintln!("{q:?}\n  base:    {base:?}\n  adapter: {tuned:?}");
        assert!(
            !base.contains("Zebra tango"),
            "the base already says it: {base:?}"
        );
        assert!(
            tuned.contains("Zebra tango"),
            "the adapter did not take effect: {tuned:?}"
        );
        assert_ne!(base, tuned);
    }
}
