//! Training examples from `dataset.rows` Parquet: each conversation is rendered with the base
//! model's chat template, tokenized with its tokenizer, and labelled so that only the assistant
//! turns (their text and the end-of-turn token) carry loss. Batches group rows of similar length
//! (fewer pad tokens) and pad on the right.
//!
//! Right padding needs no extra mask: with causal attention a real token only sees earlier
//! positions, so pads (always later) are never attended by real tokens, and pad labels are -100.
//! Packing several rows into one sequence does need a mask; [`pack`] builds a block-diagonal
//! causal one with positions restarting per row.

use std::path::Path;

use artifacts::{DatasetRow, read_artifact};
use gguf::{ChatTemplate, GgufTokenizer, TemplateMessage};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::error::TrainerError;

/// Label of a position that carries no loss.
pub const IGNORE: i64 = -100;

/// One tokenized conversation. `labels[i]` is the target for predicting token `i` from the
/// tokens before it (already shifted: `labels[i] = ids[i + 1]` or [`IGNORE`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The row id.
    pub id: String,
    /// Input token ids.
    pub ids: Vec<i64>,
    /// Next-token targets, [`IGNORE`] outside assistant turns.
    pub labels: Vec<i64>,
}

impl Example {
    /// Tokens that carry loss.
    pub fn target_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE).count()
    }
}

/// How the rows were tokenized (for the report).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenizeStats {
    /// Rows read.
    pub rows: usize,
    /// Rows kept.
    pub kept: usize,
    /// Rows cut at `max_len`.
    pub truncated: usize,
    /// Rows dropped because no assistant token survived truncation.
    pub dropped: usize,
}

/// Reads `dataset.rows` at `path` and tokenizes every row.
pub fn load_examples(
    path: &Path,
    tokenizer: &GgufTokenizer,
    template: &ChatTemplate,
    max_len: usize,
) -> Result<(Vec<Example>, TokenizeStats), TrainerError> {
    let rows: Vec<DatasetRow> = read_artifact(path)?;
    let mut stats = TokenizeStats {
        rows: rows.len(),
        ..TokenizeStats::default()
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(mut ex) = tokenize_row(row, tokenizer, template)? else {
            stats.dropped += 1;
            continue;
        };
        if ex.ids.len() > max_len {
            ex.ids.truncate(max_len);
            ex.labels.truncate(max_len);
            stats.truncated += 1;
        }
        if ex.target_tokens() == 0 {
            stats.dropped += 1;
            continue;
        }
        out.push(ex);
    }
    stats.kept = out.len();
    if out.is_empty() {
        return Err(TrainerError::EmptyDataset {
            path: path.to_path_buf(),
            detail: format!(
                "{} rows, none with an assistant token within {max_len} tokens",
                stats.rows
            ),
        });
    }
    Ok((out, stats))
}

/// Tokenizes one conversation; `None` when it has no assistant turn.
pub fn tokenize_row(
    row: &DatasetRow,
    tokenizer: &GgufTokenizer,
    template: &ChatTemplate,
) -> Result<Option<Example>, TrainerError> {
    let messages: Vec<TemplateMessage> = row
        .messages
        .iter()
        .map(|m| TemplateMessage::new(m.role.clone(), m.content.clone()))
        .collect();
    let full = template.render(&messages, false)?;
    // Byte spans of the assistant answers in the rendered text: from where the generation prompt
    // ends to where the turn (its end-of-turn token included) ends.
    let mut spans = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if m.role != "assistant" {
            continue;
        }
        let start = template.render(&messages[..i], true)?;
        let end = template.render(&messages[..=i], false)?;
        if !full.starts_with(&start) || !full.starts_with(&end) || end.len() < start.len() {
            return Err(TrainerError::Tokenizer(format!(
                "row {}: the chat template does not render conversations as growing prefixes, so assistant turns cannot be located",
                row.id
            )));
        }
        spans.push((start.len(), end.len()));
    }
    if spans.is_empty() {
        return Ok(None);
    }
    let tokens = tokenizer.encode_with_offsets(&full)?;
    let mut ids: Vec<i64> = tokens.iter().map(|(id, _)| i64::from(*id)).collect();
    let mut in_answer: Vec<bool> = tokens
        .iter()
        .map(|(_, (s, _))| spans.iter().any(|(a, b)| s >= a && s < b))
        .collect();
    if tokenizer.adds_bos() {
        if let Some(bos) = tokenizer
            .bos_token()
            .and_then(|b| tokenizer.tokenizer().token_to_id(b))
        {
            ids.insert(0, i64::from(bos));
            in_answer.insert(0, false);
        }
    }
    // Shift: the label at position i is token i + 1, kept only when that token is an answer token.
    let mut labels = vec![IGNORE; ids.len()];
    for i in 0..ids.len().saturating_sub(1) {
        if in_answer[i + 1] {
            labels[i] = ids[i + 1];
        }
    }
    // The last input token predicts nothing.
    if ids.len() > 1 {
        ids.pop();
        labels.pop();
    }
    Ok(Some(Example {
        id: row.id.clone(),
        ids,
        labels,
    }))
}

/// A padded batch.
#[derive(Debug)]
pub struct Batch {
    /// `[B, T]` token ids (pads are token 0, never a target).
    pub ids: Tensor,
    /// `[B, T]` targets.
    pub labels: Tensor,
    /// Block positions when packed (`None`: `0..T` for every row).
    pub positions: Option<Tensor>,
    /// Attention mask when packed.
    pub attn_mask: Option<Tensor>,
    /// Non-pad tokens.
    pub tokens: i64,
    /// Target tokens.
    pub targets: i64,
}

/// Right-pads `examples` into one batch.
pub fn collate(examples: &[&Example], device: Device) -> Batch {
    let t = examples
        .iter()
        .map(|e| e.ids.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let b = examples.len();
    let mut ids = vec![0i64; b * t];
    let mut labels = vec![IGNORE; b * t];
    let mut tokens = 0;
    let mut targets = 0;
    for (r, e) in examples.iter().enumerate() {
        ids[r * t..r * t + e.ids.len()].copy_from_slice(&e.ids);
        labels[r * t..r * t + e.labels.len()].copy_from_slice(&e.labels);
        tokens += e.ids.len() as i64;
        targets += e.target_tokens() as i64;
    }
    Batch {
        ids: Tensor::from_slice(&ids)
            .view([b as i64, t as i64])
            .to_device(device),
        labels: Tensor::from_slice(&labels)
            .view([b as i64, t as i64])
            .to_device(device),
        positions: None,
        attn_mask: None,
        tokens,
        targets,
    }
}

/// Concatenates `examples` into one row (the caller keeps the group within the length limit): positions restart per example and the mask lets a token attend only to earlier tokens
/// of its own example.
pub fn pack(examples: &[&Example], device: Device) -> Batch {
    let mut ids = Vec::new();
    let mut labels = Vec::new();
    let mut positions = Vec::new();
    let mut segment = Vec::new();
    let mut targets = 0;
    for (s, e) in examples.iter().enumerate() {
        ids.extend_from_slice(&e.ids);
        labels.extend_from_slice(&e.labels);
        positions.extend(0..e.ids.len() as i64);
        segment.extend(std::iter::repeat_n(s as i64, e.ids.len()));
        targets += e.target_tokens() as i64;
    }
    let t = ids.len() as i64;
    let seg = Tensor::from_slice(&segment);
    let same = seg.unsqueeze(1).eq_tensor(&seg.unsqueeze(0));
    let causal = Tensor::ones([t, t], (Kind::Bool, Device::Cpu)).tril(0);
    let mask = same.logical_and(&causal).view([1, 1, t, t]);
    Batch {
        ids: Tensor::from_slice(&ids).view([1, t]).to_device(device),
        labels: Tensor::from_slice(&labels).view([1, t]).to_device(device),
        positions: Some(
            Tensor::from_slice(&positions)
                .view([1, t])
                .to_device(device),
        ),
        attn_mask: Some(mask.to_device(device)),
        tokens: t,
        targets,
    }
}

/// Where the sampler is: which epoch, and how many batches of it were consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataPosition {
    /// Epoch number from 0.
    pub epoch: u64,
    /// Batches of this epoch already used.
    pub batch: u64,
}

/// The batch order of one epoch: rows shuffled by a seed derived from `(seed, epoch)`, cut into
/// mega-batches of 32 batches, each sorted by length and cut into batches, and the batches
/// shuffled again. Being a pure function of `(seed, epoch)` is what makes resuming exact: the
/// checkpoint stores only the [`DataPosition`].
pub fn epoch_batches(
    lengths: &[usize],
    batch_size: usize,
    seed: u64,
    epoch: u64,
) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);
    let mega = batch_size * 32;
    let mut batches = Vec::new();
    for chunk in order.chunks(mega) {
        let mut chunk = chunk.to_vec();
        chunk.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        batches.extend(chunk.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

/// Packs examples (in epoch order) greedily into groups of at most `max_len` tokens.
pub fn pack_groups(
    batch_order: &[Vec<usize>],
    lengths: &[usize],
    max_len: usize,
) -> Vec<Vec<usize>> {
    let mut groups = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut used = 0;
    for &i in batch_order.iter().flatten() {
        if used + lengths[i] > max_len && !current.is_empty() {
            groups.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(i);
        used += lengths[i];
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_cover_every_row_once_and_differ() {
        let lengths: Vec<usize> = (0..100).map(|i| 10 + (i * 7) % 50).collect();
        let e0 = epoch_batches(&lengths, 4, 7, 0);
        let e1 = epoch_batches(&lengths, 4, 7, 1);
        let mut all: Vec<usize> = e0.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_ne!(e0, e1);
        assert_eq!(e0, epoch_batches(&lengths, 4, 7, 0));
    }

    #[test]
    fn packed_mask_blocks_other_examples() {
        let a = Example {
            id: "a".into(),
            ids: vec![1, 2, 3],
            labels: vec![2, 3, IGNORE],
        };
        let b = Example {
            id: "b".into(),
            ids: vec![4, 5],
            labels: vec![5, IGNORE],
        };
        let batch = pack(&[&a, &b], Device::Cpu);
        let mask = batch.attn_mask.expect("packed");
        // Token 3 (first of b) must not see tokens 0..3 of a, and sees itself.
        assert_eq!(mask.int64_value(&[0, 0, 3, 2]), 0);
        assert_eq!(mask.int64_value(&[0, 0, 3, 3]), 1);
        assert_eq!(mask.int64_value(&[0, 0, 2, 0]), 1);
        assert_eq!(mask.int64_value(&[0, 0, 0, 1]), 0);
        let pos =
            Vec::<i64>::try_from(batch.positions.expect("packed").flatten(0, -1)).expect("i64");
        assert_eq!(pos, vec![0, 1, 2, 0, 1]);
    }
}
