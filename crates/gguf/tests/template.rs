//! Chat templates: snapshots of the rendered ChatML (SmolLM2, from the GGUF) and Llama 3.2
//! (from a committed `tokenizer_config.json` holding Meta's Llama 3.2 Instruct template, as
//! llama.cpp's `models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja` carries it), and the
//! errors of broken templates.

use gguf::{ChatTemplate, GgufError, GgufFile, TemplateMessage};

fn conversation() -> Vec<TemplateMessage> {
    vec![
        TemplateMessage::new("system", "You are Lift, an assistant for experimentation."),
        TemplateMessage::new("user", "What sample size do I need to detect a 2% lift?"),
        TemplateMessage::new(
            "assistant",
            "About 39,000 users per arm at 80% power and α = 0.05.",
        ),
    ]
}

fn smollm2() -> ChatTemplate {
    let path = assets::AssetCache::from_env()
        .and_then(|c| c.chat_model_gguf())
        .expect("the chat model is installed (cargo xtask setup)");
    ChatTemplate::from_gguf(&GgufFile::open(path).expect("open GGUF")).expect("template")
}

fn llama32() -> ChatTemplate {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/llama-3.2-instruct/tokenizer_config.json"
    );
    ChatTemplate::from_tokenizer_config(path).expect("Llama 3.2 template")
}

#[test]
fn chatml_of_smollm2_renders_as_snapshotted_and_the_prompt_is_a_prefix() {
    let t = smollm2();
    assert_eq!(t.eos_token(), "<|im_end|>");
    let text = t.render(&conversation(), false).expect("render");
    insta::assert_snapshot!("chatml_smollm2", text);
    let prompt = t.render(&conversation()[..2], true).expect("render prompt");
    assert!(prompt.ends_with("<|im_start|>assistant\n"), "{prompt:?}");
    assert!(text.starts_with(&prompt));
}

#[test]
fn chatml_adds_smollm2s_default_system_turn_when_none_is_given() {
    let text = smollm2()
        .render(&conversation()[1..], false)
        .expect("render");
    assert!(
        text.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"),
        "{text:?}"
    );
}

#[test]
fn llama_3_2_renders_as_snapshotted_with_a_fixed_date() {
    let t = llama32();
    assert_eq!(t.bos_token(), "<|begin_of_text|>");
    let mut extra = std::collections::BTreeMap::new();
    extra.insert("date_string".to_owned(), serde_json::json!("01 Dec 2026"));
    let text = t
        .render_with(&conversation(), false, &extra)
        .expect("render");
    insta::assert_snapshot!("llama_3_2", text);
    let prompt = t
        .render_with(&conversation()[..2], true, &extra)
        .expect("prompt");
    assert!(prompt.ends_with("<|start_header_id|>assistant<|end_header_id|>\n\n"));
    assert!(text.starts_with(&prompt));
    // Without a date the template falls back to its own default, as in transformers without
    // `strftime_now`.
    let default = t.render(&conversation(), false).expect("render");
    assert!(default.contains("Today Date: 26 Jul 2024\n"), "{default}");
}

#[test]
fn broken_templates_and_raise_exception_are_typed_errors() {
    let broken = ChatTemplate::new("{% for m in messages %}{{ m.content }}", "", "");
    assert!(matches!(
        broken,
        Err(GgufError::Template {
            operation: "compile",
            ..
        })
    ));
    let raising = ChatTemplate::new(
        "{% if messages[0].role != 'user' %}{{ raise_exception('first turn must be the user') }}{% endif %}",
        "",
        "",
    )
    .expect("compiles");
    let err = raising
        .render(&[TemplateMessage::new("assistant", "hi")], false)
        .expect_err("raises");
    assert!(
        matches!(&err, GgufError::Template { operation: "render", detail } if detail.contains("first turn must be the user")),
        "{err}"
    );
}

#[test]
fn python_string_methods_work_through_pycompat() {
    let t =
        ChatTemplate::new("{{ messages[0].content.strip().upper() }}", "", "").expect("compiles");
    let out = t
        .render(&[TemplateMessage::new("user", "  p-value  ")], false)
        .expect("render");
    assert_eq!(out, "P-VALUE");
}
