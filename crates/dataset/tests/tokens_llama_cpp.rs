//! Token counts equal the serving model's: the tokenizer rebuilt from the SmolLM2 GGUF gives
//! exactly llama.cpp's ids (`llama_tokenize` with special tokens parsed, no BOS added) on 200
//! samples: rendered ChatML conversations from the knowledge base and text chosen to stress the
//! pre-tokenizer (digits, contractions, unicode, whitespace runs, code, special tokens).

use dataset::config::DatasetConfig;
use dataset::format::Formatter;
use gguf::{ChatTemplate, GgufFile, GgufTokenizer};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;

fn workspace(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

const EDGE_CASES: &[&str] = &[
    "12345 678.90 1,000,000 3.14159e-10 0x1F",
    "I'm sure it's fine, you're right, they've gone, we'll see, he'd know, don't",
    "IT'S LOUD AND I'LL SHOUT",
    "Variance σ² = E[(X − μ)²], x̄ ± 1.96·s/√n, α=0.05, β≈0.2, ∑ᵢ xᵢ",
    "naïve café résumé Zürich Ελληνικά русский 中文 日本語 한국어 العربية",
    "emoji 🎉🚀 and ZWJ 👩‍🔬 and flags 🇫🇷",
    "   leading spaces, trailing spaces   ",
    "tabs\tand\t\tmore\ttabs",
    "line one\nline two\n\n\nline five\r\nwindows",
    "```python\ndef power(n, d):\n    return norm.cdf(d * n ** 0.5 - 1.96)\n```",
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|> mid <|im_end|>text",
    "a  b   c    d     e",
    "p<0.05 && q>0.95 || r!=1 -- ~~strike~~ **bold** __u__",
    "https://stats.stackexchange.com/questions/12345/what-is-a-p-value?a=1&b=2",
    "CamelCaseWord snake_case_word kebab-case-word",
    "",
    " ",
    "\n",
    "A/B/n testing with 10% holdout; CUPED θ = cov(Y,X)/var(X).",
];

#[test]
fn the_rebuilt_tokenizer_gives_llama_cpps_ids_on_200_samples() {
    let gguf_path = assets::AssetCache::from_env()
        .and_then(|c| c.chat_model_gguf())
        .expect("the chat model is installed (cargo xtask setup)");
    let file = GgufFile::open(&gguf_path).expect("open GGUF");
    let ours = GgufTokenizer::from_gguf(&file).expect("tokenizer");
    let template = ChatTemplate::from_gguf(&file).expect("template");
    let config = DatasetConfig::load(&workspace("configs/dataset.toml")).expect("config");
    let formatter = Formatter::new(&template, &ours, &config.format);

    let kb = knowledge::load(workspace("data/knowledge"))
        .expect("knowledge base")
        .knowledge;
    let mut samples: Vec<String> = EDGE_CASES.iter().map(|s| (*s).to_owned()).collect();
    for concept in kb.concepts.iter() {
        if samples.len() >= 200 {
            break;
        }
        let question = format!("What is {} and when should I use it?", concept.name);
        let answer = format!("{}\n\n{}", concept.definition, concept.when_to_use);
        let (text, _) = formatter
            .render(&formatter.messages(&question, &answer))
            .expect("render");
        samples.push(text);
    }
    assert_eq!(samples.len(), 200, "enough concepts for 200 samples");

    let mut backend = LlamaBackend::init().expect("llama.cpp backend");
    // The loader's metadata dump would bury the test output.
    backend.void_logs();
    let params = LlamaModelParams::default().with_vocab_only(true);
    let model = LlamaModel::load_from_file(&backend, &gguf_path, &params).expect("load vocab");
    let vocab = model.vocab();
    let mut tokens = 0;
    for (i, sample) in samples.iter().enumerate() {
        let theirs: Vec<u32> = vocab
            .tokenize(sample.as_bytes(), false, true)
            .into_iter()
            .map(|t| u32::try_from(t.0).expect("non-negative id"))
            .collect();
        let mine = ours.encode(sample, false).expect("encode");
        assert_eq!(mine, theirs, "sample {i} differs: {sample:?}");
        tokens += mine.len();
    }
    assert!(tokens > 20_000, "the samples cover {tokens} tokens");
}
