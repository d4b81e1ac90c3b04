//! Pipeline stage 3: turns the collector's and synth's artifacts (and any Q&A files a user drops
//! into a folder) into training-ready chat data. Reads `raw/cross_validated.parquet`
//! (`raw.cross_validated`), `qa/synthetic.parquet` (`qa.pairs`) and `*.jsonl` / `*.parquet` files
//! with `question` and `answer` fields; cleans ([`clean`]), removes exact and MinHash-LSH
//! near-duplicates ([`minhash`]), splits train/val/test grouped by source document and stratified
//! by question type ([`split`]), removes train and val pairs near the evaluation questions, renders
//! each pair with the target model's chat template and counts its tokens with the model's own
//! tokenizer ([`format`]), and writes `dataset/{train,val,test}.parquet` (`dataset.rows`) with a
//! generated card `dataset/README.md` ([`card`]), all recorded in the run manifest ([`run`]).
//!
//! What this crate must not depend on: no other stage crate (`collector`, `synth`, `trainer`,
//! `evaluator`): their outputs are read only as artifacts. It makes no network calls and resolves
//! no models itself; the binary finds the GGUF through `assets` and the library takes paths.
//!
//! Design choice: decontamination runs after the split and only on train and val, and the split
//! groups whole source documents. Removing a contaminated pair cannot move any other pair between
//! splits, so the guarantee "no source document spans two splits" (a property test) holds no
//! matter how many pairs decontamination removes; and tokens are counted with the tokenizer rebuilt
//! from the serving GGUF (the `gguf` crate), so the limits here are the limits the model sees.

pub mod card;
pub mod clean;
pub mod config;
mod error;
pub mod format;
pub mod input;
pub mod minhash;
pub mod run;
pub mod split;

pub use config::DatasetConfig;
pub use error::DatasetError;
pub use run::{Model, ModelFiles, RunOptions, Summary};
