//! The engine thread: it owns the llama.cpp model and context, and decodes every active sequence
//! together, one token per sequence per `llama_decode` call (prompts are prefilled in the same
//! batches, up to the batch size).
//!
//! Each sequence has a slot (a llama.cpp sequence id). A slot keeps the tokens of its KV cache after
//! its request ends, so the next request that shares a prefix with it (the system prompt, say)
//! starts decoding after that prefix; with the unified KV cache a prefix can also be copied from
//! another slot.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaLoraAdapter, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::text::{Step, TextDecoder};
use super::{EngineStats, LocalConfig, LocalModelInfo, grammar};
use crate::model::done;
use crate::{Error, FinishReason, GenerationParams, Message, StreamEvent, Usage};

/// Work sent to the engine thread.
pub(crate) enum Command {
    /// Generate for one request.
    Generate(Job),
    /// Load a LoRA adapter (waits until no sequence is active).
    LoadAdapter {
        name: String,
        path: PathBuf,
        reply: SyncSender<Result<(), Error>>,
    },
    /// Stop the thread.
    Shutdown,
}

/// One request.
pub(crate) struct Job {
    pub(crate) messages: Vec<Message>,
    pub(crate) params: GenerationParams,
    pub(crate) adapter: Option<(String, f32)>,
    pub(crate) events: UnboundedSender<Result<StreamEvent, Error>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) deadline: Instant,
    pub(crate) timeout: Duration,
}

impl Job {
    /// Why this job should stop now, if it should. A closed channel means the stream was dropped.
    fn abandoned(&self) -> Option<Error> {
        if self.events.is_closed() || self.cancel.is_cancelled() {
            Some(Error::Cancelled)
        } else if Instant::now() >= self.deadline {
            Some(Error::Timeout {
                after: self.timeout,
            })
        } else {
            None
        }
    }

    fn fail(&self, error: Error) {
        // The receiver may be gone already; then nobody is waiting for the error.
        let _ = self.events.send(Err(error));
    }
}

/// The process-wide llama.cpp backend: it can be initialised once per process.
fn backend() -> Result<&'static LlamaBackend, Error> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            // llama.cpp logs every tensor it loads to stderr; errors reach callers as values.
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(|detail| Error::Inference {
            detail: format!("cannot initialise llama.cpp: {detail}"),
        })
}

struct Adapter {
    name: String,
    adapter: LlamaLoraAdapter,
}

/// Runs the engine until shutdown. Sends the load result (and model facts) on `ready` first.
pub(crate) fn run(
    config: LocalConfig,
    threads: u32,
    commands: Receiver<Command>,
    ready: SyncSender<Result<LocalModelInfo, Error>>,
    stats: Arc<Mutex<EngineStats>>,
    adapter_names: Arc<Mutex<Vec<String>>>,
) {
    let mut ready = Some(ready);
    let fail_ready = |ready: &mut Option<SyncSender<_>>, error: Error| {
        if let Some(ready) = ready.take() {
            let _ = ready.send(Err(error));
        }
    };
    let backend = match backend() {
        Ok(backend) => backend,
        Err(error) => return fail_ready(&mut ready, error),
    };
    let load_error = |what: &'static str, path: &std::path::Path, detail: String| Error::Load {
        what,
        path: path.to_path_buf(),
        detail,
    };
    if !config.model_path.is_file() {
        let error = load_error("model", &config.model_path, "no such file".into());
        return fail_ready(&mut ready, error);
    }
    let mut model =
        match LlamaModel::load_from_file(backend, &config.model_path, &LlamaModelParams::default())
        {
            Ok(model) => model,
            Err(e) => {
                let error = load_error("model", &config.model_path, e.to_string());
                return fail_ready(&mut ready, error);
            }
        };
    let mut adapters = Vec::new();
    for spec in &config.adapters {
        match init_adapter(&mut model, &spec.path) {
            Ok(adapter) => adapters.push(Adapter {
                name: spec.name.clone(),
                adapter,
            }),
            Err(error) => return fail_ready(&mut ready, error),
        }
    }
    set_names(&adapter_names, &adapters);
    let (template, template_from_gguf) = match model.chat_template(None) {
        Ok(template) => (template, true),
        Err(_) => match LlamaChatTemplate::new(&config.chat_template_fallback) {
            Ok(template) => (template, false),
            Err(_) => {
                let error = Error::Config {
                    detail: "the fallback chat template contains a NUL byte".into(),
                };
                return fail_ready(&mut ready, error);
            }
        },
    };
    let info = LocalModelInfo {
        threads,
        template_from_gguf,
        n_ctx_train: model.n_ctx_train(),
        n_vocab: model.n_vocab(),
        max_parallel: config.max_parallel,
        context_per_sequence: config.context_per_sequence,
    };

    let mut queue = VecDeque::new();
    loop {
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(
                config
                    .context_per_sequence
                    .saturating_mul(config.max_parallel),
            ))
            .with_n_batch(config.batch_tokens)
            .with_n_ubatch(config.batch_tokens)
            .with_n_seq_max(config.max_parallel)
            .with_kv_unified(true)
            .with_n_threads(i32::try_from(threads).unwrap_or(1))
            .with_n_threads_batch(i32::try_from(threads).unwrap_or(1));
        let ctx = match model.new_context(backend, params) {
            Ok(ctx) => ctx,
            Err(e) => {
                let error = Error::Inference {
                    detail: format!("cannot create a llama.cpp context: {e}"),
                };
                for job in queue.drain(..) {
                    let job: Job = job;
                    job.fail(Error::EngineStopped);
                }
                return fail_ready(&mut ready, error);
            }
        };
        if let Some(ready) = ready.take()
            && ready.send(Ok(info.clone())).is_err()
        {
            return;
        }
        let exit = {
            let mut engine = Engine::new(&model, ctx, &template, &config, &stats, queue);
            let exit = engine.run(&commands, &mut adapters);
            queue = std::mem::take(&mut engine.queue);
            exit
        };
        match exit {
            Exit::Shutdown => {
                for job in queue.drain(..) {
                    job.fail(Error::EngineStopped);
                }
                return;
            }
            Exit::LoadAdapter { name, path, reply } => {
                // The context borrows the model, so adapters load between contexts.
                let result = init_adapter(&mut model, &path).map(|adapter| {
                    adapters.retain(|a| a.name != name);
                    adapters.push(Adapter { name, adapter });
                });
                set_names(&adapter_names, &adapters);
                let _ = reply.send(result);
            }
        }
    }
}

fn init_adapter(model: &mut LlamaModel, path: &std::path::Path) -> Result<LlamaLoraAdapter, Error> {
    if !path.is_file() {
        return Err(Error::Load {
            what: "LoRA adapter",
            path: path.to_path_buf(),
            detail: "no such file".into(),
        });
    }
    model.lora_adapter_init(path).map_err(|e| Error::Load {
        what: "LoRA adapter",
        path: path.to_path_buf(),
        detail: format!("{e} (is it a GGUF LoRA for this model's architecture?)"),
    })
}

fn set_names(names: &Mutex<Vec<String>>, adapters: &[Adapter]) {
    let mut names = names.lock().unwrap_or_else(PoisonError::into_inner);
    *names = adapters.iter().map(|a| a.name.clone()).collect();
}

enum Exit {
    Shutdown,
    LoadAdapter {
        name: String,
        path: PathBuf,
        reply: SyncSender<Result<(), Error>>,
    },
}

/// A sequence being generated.
struct Active {
    job: Job,
    sampler: LlamaSampler,
    /// Prompt tokens not yet decoded.
    prompt_left: VecDeque<LlamaToken>,
    /// The last sampled token, to be decoded next.
    next: Option<LlamaToken>,
    decoder: TextDecoder,
    prompt_tokens: u32,
    reused: u32,
    generated: u32,
}

struct Slot {
    seq: i32,
    /// The tokens whose KV entries this sequence holds, in position order.
    history: Vec<LlamaToken>,
    active: Option<Active>,
}

struct Engine<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    template: &'m LlamaChatTemplate,
    config: &'m LocalConfig,
    stats: &'m Mutex<EngineStats>,
    slots: Vec<Slot>,
    queue: VecDeque<Job>,
    batch: LlamaBatch<'static>,
    /// The adapter (name, scale) set on the context now.
    current_adapter: Option<(String, f32)>,
    pending_exit: Option<Exit>,
    disconnected: bool,
}

impl<'m> Engine<'m> {
    fn new(
        model: &'m LlamaModel,
        ctx: LlamaContext<'m>,
        template: &'m LlamaChatTemplate,
        config: &'m LocalConfig,
        stats: &'m Mutex<EngineStats>,
        queue: VecDeque<Job>,
    ) -> Self {
        let slots = (0..config.max_parallel)
            .map(|i| Slot {
                seq: i32::try_from(i).unwrap_or(i32::MAX),
                history: Vec::new(),
                active: None,
            })
            .collect();
        Self {
            model,
            ctx,
            template,
            config,
            stats,
            slots,
            queue,
            batch: LlamaBatch::new(config.batch_tokens as usize, 1),
            current_adapter: None,
            pending_exit: None,
            disconnected: false,
        }
    }

    fn active_count(&self) -> usize {
        self.slots.iter().filter(|s| s.active.is_some()).count()
    }

    fn run(&mut self, commands: &Receiver<Command>, adapters: &mut [Adapter]) -> Exit {
        loop {
            if self.active_count() == 0 && self.queue.is_empty() {
                if let Some(exit) = self.pending_exit.take() {
                    return exit;
                }
                if self.disconnected {
                    return Exit::Shutdown;
                }
                match commands.recv() {
                    Ok(command) => self.accept(command),
                    Err(_) => return Exit::Shutdown,
                }
            }
            loop {
                match commands.try_recv() {
                    Ok(command) => self.accept(command),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.disconnected = true;
                        break;
                    }
                }
            }
            if let Some(Exit::Shutdown) = self.pending_exit {
                for slot in &mut self.slots {
                    if let Some(active) = slot.active.take() {
                        active.job.fail(Error::EngineStopped);
                    }
                }
                return Exit::Shutdown;
            }
            self.drop_abandoned();
            if self.pending_exit.is_none() {
                self.admit(adapters);
            }
            if self.active_count() == 0 {
                if self.pending_exit.is_some() {
                    // Queued jobs wait for the adapter load; they are carried to the next context.
                    if let Some(exit) = self.pending_exit.take() {
                        return exit;
                    }
                }
                continue;
            }
            self.step();
        }
    }

    fn accept(&mut self, command: Command) {
        match command {
            Command::Generate(job) => self.queue.push_back(job),
            Command::LoadAdapter { name, path, reply } => {
                if self.pending_exit.is_some() {
                    let _ = reply.send(Err(Error::InvalidRequest {
                        detail: "another adapter is loading; retry".into(),
                    }));
                } else {
                    self.pending_exit = Some(Exit::LoadAdapter { name, path, reply });
                }
            }
            Command::Shutdown => self.pending_exit = Some(Exit::Shutdown),
        }
    }

    fn drop_abandoned(&mut self) {
        self.queue.retain(|job| match job.abandoned() {
            Some(error) => {
                job.fail(error);
                false
            }
            None => true,
        });
        for slot in &mut self.slots {
            if let Some(error) = slot.active.as_ref().and_then(|a| a.job.abandoned())
                && let Some(active) = slot.active.take()
            {
                active.job.fail(error);
            }
        }
    }

    /// Moves queued jobs into free slots, in order, while their adapter matches the context's.
    fn admit(&mut self, adapters: &mut [Adapter]) {
        while let Some(job) = self.queue.front() {
            if self.slots.iter().all(|s| s.active.is_some()) {
                return;
            }
            if job.adapter != self.current_adapter {
                if self.active_count() > 0 {
                    // Sequences in one batch share the context's adapter: wait for them to end.
                    return;
                }
                let wanted = job.adapter.clone();
                if let Err(error) = self.switch_adapter(wanted, adapters)
                    && let Some(job) = self.queue.pop_front()
                {
                    job.fail(error);
                }
                continue;
            }
            let Some(job) = self.queue.pop_front() else {
                return;
            };
            match self.prepare(&job) {
                Ok((sampler, tokens)) => {
                    let active = Active {
                        decoder: TextDecoder::new(&job.params.stop),
                        job,
                        sampler,
                        prompt_left: VecDeque::new(),
                        next: None,
                        prompt_tokens: u32::try_from(tokens.len()).unwrap_or(u32::MAX),
                        reused: 0,
                        generated: 0,
                    };
                    self.place(active, tokens);
                }
                Err(error) => job.fail(error),
            }
        }
    }

    fn switch_adapter(
        &mut self,
        wanted: Option<(String, f32)>,
        adapters: &mut [Adapter],
    ) -> Result<(), Error> {
        match &wanted {
            Some((name, scale)) => {
                let Some(adapter) = adapters.iter_mut().find(|a| &a.name == name) else {
                    return Err(Error::InvalidRequest {
                        detail: format!("no LoRA adapter named {name} is loaded"),
                    });
                };
                self.ctx
                    .lora_adapter_set(&mut adapter.adapter, *scale)
                    .map_err(|e| Error::Inference {
                        detail: format!("cannot apply LoRA adapter {name}: {e}"),
                    })?;
            }
            None => {
                if let Some(adapter) = adapters.first_mut() {
                    self.ctx
                        .lora_adapter_remove(&mut adapter.adapter)
                        .map_err(|e| Error::Inference {
                            detail: format!("cannot remove the LoRA adapter: {e}"),
                        })?;
                }
            }
        }
        // Cached keys and values were computed with the old weights.
        self.ctx.clear_kv_cache();
        for slot in &mut self.slots {
            slot.history.clear();
        }
        self.current_adapter = wanted;
        Ok(())
    }

    /// Applies the chat template, tokenizes and builds the sampler.
    fn prepare(&self, job: &Job) -> Result<(LlamaSampler, Vec<LlamaToken>), Error> {
        let chat = job
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_owned(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::InvalidRequest {
                detail: "a message contains a NUL byte".into(),
            })?;
        let prompt = self
            .model
            .apply_chat_template(self.template, &chat, true)
            .map_err(|e| Error::Inference {
                detail: format!("cannot apply the chat template: {e}"),
            })?;
        let tokens = self.model.vocab().tokenize(prompt.as_bytes(), true, true);
        if tokens.is_empty() {
            return Err(Error::InvalidRequest {
                detail: "the prompt is empty".into(),
            });
        }
        let context = self.config.context_per_sequence;
        if tokens.len() + job.params.max_tokens as usize > context as usize {
            return Err(Error::ContextOverflow {
                prompt_tokens: tokens.len(),
                max_tokens: job.params.max_tokens,
                context,
            });
        }
        let sampler = build_sampler(self.model, &job.params)?;
        Ok((sampler, tokens))
    }

    /// Puts a prepared sequence into the free slot that shares the longest prefix with it, reusing
    /// that prefix's KV entries (from its own history, or copied from another slot).
    fn place(&mut self, mut active: Active, tokens: Vec<LlamaToken>) {
        let free: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].active.is_none())
            .collect();
        let reuse_on = self.config.prefix_cache;
        let lcp = |history: &[LlamaToken]| {
            if !reuse_on {
                return 0;
            }
            history
                .iter()
                .zip(&tokens)
                .take_while(|(a, b)| a == b)
                .count()
        };
        let Some(&slot_index) = free
            .iter()
            .max_by_key(|&&i| (lcp(&self.slots[i].history), std::cmp::Reverse(i)))
        else {
            return active.job.fail(Error::EngineStopped);
        };
        let own = lcp(&self.slots[slot_index].history);
        let donor = (0..self.slots.len())
            .map(|i| (i, lcp(&self.slots[i].history)))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .filter(|&(i, n)| i != slot_index && n > own);
        // At least one prompt token must be decoded to get logits for the first output token.
        let limit = tokens.len() - 1;
        let seq = self.slots[slot_index].seq;
        let reused = match donor {
            Some((donor_index, n)) => {
                let n = n.min(limit);
                let donor_seq = self.slots[donor_index].seq;
                let _ = self.ctx.kv_cache_seq_rm(seq, None, None);
                let copied = self
                    .ctx
                    .kv_cache_seq_cp(donor_seq, seq, Some(0), u32::try_from(n).ok())
                    .is_ok();
                if copied { n } else { 0 }
            }
            None => {
                let n = own.min(limit);
                if self
                    .ctx
                    .kv_cache_seq_rm(seq, u32::try_from(n).ok(), None)
                    .is_ok()
                {
                    n
                } else {
                    let _ = self.ctx.kv_cache_seq_rm(seq, None, None);
                    0
                }
            }
        };
        let slot = &mut self.slots[slot_index];
        slot.history.clear();
        slot.history.extend_from_slice(&tokens[..reused]);
        active.prompt_left = tokens[reused..].iter().copied().collect();
        active.reused = u32::try_from(reused).unwrap_or(u32::MAX);
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.requests += 1;
        stats.prompt_tokens_reused += reused as u64;
        drop(stats);
        slot.active = Some(active);
    }

    /// One `llama_decode` over every active sequence, then one sampled token for each sequence
    /// that finished its prompt.
    fn step(&mut self) {
        self.batch.clear();
        let capacity = self.config.batch_tokens as usize;
        let mut logits_at: Vec<(usize, i32)> = Vec::new();
        let mut sequences = 0u32;
        let mut prompt_tokens = 0u64;
        let mut n = 0usize;
        // Sequences that are generating go first: one token each keeps their latency low.
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(active) = slot.active.as_mut() else {
                continue;
            };
            let Some(token) = active.next.take() else {
                continue;
            };
            if n >= capacity {
                active.next = Some(token);
                continue;
            }
            let pos = i32::try_from(slot.history.len()).unwrap_or(i32::MAX);
            if self.batch.add(token, pos, &[slot.seq], true).is_err() {
                active.next = Some(token);
                continue;
            }
            slot.history.push(token);
            logits_at.push((i, i32::try_from(n).unwrap_or(i32::MAX)));
            n += 1;
            sequences += 1;
        }
        // Prompts fill the rest of the batch.
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(active) = slot.active.as_mut() else {
                continue;
            };
            if active.prompt_left.is_empty() || n >= capacity {
                continue;
            }
            sequences += 1;
            while n < capacity {
                let Some(token) = active.prompt_left.pop_front() else {
                    break;
                };
                let last = active.prompt_left.is_empty();
                let pos = i32::try_from(slot.history.len()).unwrap_or(i32::MAX);
                if self.batch.add(token, pos, &[slot.seq], last).is_err() {
                    active.prompt_left.push_front(token);
                    break;
                }
                slot.history.push(token);
                prompt_tokens += 1;
                if last {
                    logits_at.push((i, i32::try_from(n).unwrap_or(i32::MAX)));
                }
                n += 1;
            }
        }
        if n == 0 {
            return;
        }
        if let Err(e) = self.ctx.decode(&mut self.batch) {
            // The KV cache is in an unknown state: fail everything active and start clean.
            for slot in &mut self.slots {
                if let Some(active) = slot.active.take() {
                    active.job.fail(Error::Inference {
                        detail: format!("llama_decode failed: {e}"),
                    });
                }
                slot.history.clear();
            }
            self.ctx.clear_kv_cache();
            return;
        }
        {
            let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
            stats.decode_calls += 1;
            stats.max_batch_sequences = stats.max_batch_sequences.max(sequences);
            stats.prompt_tokens_computed += prompt_tokens;
        }
        let vocab = self.model.vocab();
        let mut generated = 0u64;
        for (slot_index, batch_index) in logits_at {
            let slot = &mut self.slots[slot_index];
            let Some(active) = slot.active.as_mut() else {
                continue;
            };
            let token = active.sampler.sample(&self.ctx, batch_index);
            let usage = |active: &Active| Usage {
                prompt_tokens: active.prompt_tokens,
                completion_tokens: active.generated,
                cached_prompt_tokens: active.reused,
            };
            if vocab.is_eog(token) {
                let tail = active.decoder.finish();
                finish(slot, tail, FinishReason::Stop, usage);
                continue;
            }
            active.generated += 1;
            generated += 1;
            let piece = vocab.token_to_piece(token, false, None);
            match active.decoder.push(&piece) {
                Step::Stopped(text) => {
                    finish(slot, text, FinishReason::StopSequence, usage);
                    continue;
                }
                Step::Text(text) => {
                    if active.generated >= active.job.params.max_tokens {
                        let mut text = text;
                        text.push_str(&active.decoder.finish());
                        finish(slot, text, FinishReason::Length, usage);
                        continue;
                    }
                    if !text.is_empty()
                        && active
                            .job
                            .events
                            .send(Ok(StreamEvent::Delta(text)))
                            .is_err()
                    {
                        // The stream was dropped: stop generating for it.
                        slot.active = None;
                        continue;
                    }
                    active.next = Some(token);
                }
            }
        }
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        stats.generated_tokens += generated;
    }
}

/// Sends the last text and the final event, and frees the slot (its history stays for reuse).
fn finish(slot: &mut Slot, text: String, reason: FinishReason, usage: impl Fn(&Active) -> Usage) {
    if let Some(active) = slot.active.take() {
        if !text.is_empty() {
            let _ = active.job.events.send(Ok(StreamEvent::Delta(text)));
        }
        let _ = active
            .job
            .events
            .send(Ok(done(reason, usage(&active), None)));
    }
}

fn build_sampler(model: &LlamaModel, params: &GenerationParams) -> Result<LlamaSampler, Error> {
    let mut chain = Vec::new();
    if let Some(constraint) = &params.constraint {
        let gbnf = grammar::to_gbnf(constraint)?;
        let sampler = LlamaSampler::grammar(model, &gbnf, "root").map_err(|e| Error::Grammar {
            detail: format!("llama.cpp rejected the grammar: {e}"),
        })?;
        chain.push(sampler);
    }
    if params.repeat_penalty != 1.0 {
        chain.push(LlamaSampler::penalties(
            model.n_vocab(),
            64,
            params.repeat_penalty,
            0.0,
            0.0,
        ));
    }
    if params.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        if params.top_k > 0 {
            chain.push(LlamaSampler::top_k(
                i32::try_from(params.top_k).unwrap_or(i32::MAX),
            ));
        }
        if params.top_p < 1.0 {
            chain.push(LlamaSampler::top_p(params.top_p, 1));
        }
        chain.push(LlamaSampler::temp(params.temperature));
        chain.push(LlamaSampler::dist(seed32(params.seed)));
    }
    Ok(LlamaSampler::chain_simple(chain))
}

/// A 32-bit sampler seed: the caller's, folded, or one from the clock.
fn seed32(seed: Option<u64>) -> u32 {
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    (seed ^ (seed >> 32)) as u32
}
