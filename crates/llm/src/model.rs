//! The [`ChatModel`] trait, the stream type, and the helpers that put a deadline and a
//! cancellation token around any future or stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use tokio::time::Instant;

use crate::{CallOptions, ChatRequest, ChatResponse, Error, FinishReason, StreamEvent, Usage};

/// A stream of generated text. It ends with [`StreamEvent::Done`], or with an `Err` item.
/// Dropping it stops generation.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, Error>> + Send + 'static>>;

/// A language model that continues a conversation.
///
/// Implementations: [`crate::LocalModel`] (llama.cpp), [`crate::OpenAiCompatible`],
/// [`crate::Anthropic`], and the [`crate::Cached`] wrapper around any of them. The trait is
/// object safe, so callers hold an `Arc<dyn ChatModel>` and tests can swap in another backend.
pub trait ChatModel: Send + Sync {
    /// The model's identity: what the cache key and the cost ledger use.
    fn model_id(&self) -> &str;

    /// Generates the whole answer.
    fn complete(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatResponse, Error>>;

    /// Generates the answer as a stream of text pieces. Errors that happen before the first token
    /// (a refused budget, a 400) are returned here; later ones arrive as stream items.
    fn stream(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatStream, Error>>;
}

impl<M: ChatModel + ?Sized> ChatModel for Arc<M> {
    fn model_id(&self) -> &str {
        (**self).model_id()
    }

    fn complete(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        (**self).complete(request, options)
    }

    fn stream(
        &self,
        request: ChatRequest,
        options: CallOptions,
    ) -> BoxFuture<'_, Result<ChatStream, Error>> {
        (**self).stream(request, options)
    }
}

/// Collects a stream into a response.
pub async fn collect_stream(mut stream: ChatStream) -> Result<ChatResponse, Error> {
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Delta(piece) => text.push_str(&piece),
            StreamEvent::Done {
                finish_reason,
                usage,
                cost_usd,
            } => {
                return Ok(ChatResponse {
                    text,
                    finish_reason,
                    usage,
                    cost_usd,
                });
            }
        }
    }
    Err(Error::Inference {
        detail: "the stream ended without a final event".to_owned(),
    })
}

/// A stream that yields a finished response: one delta, then `Done`.
pub(crate) fn response_as_stream(response: ChatResponse) -> ChatStream {
    let ChatResponse {
        text,
        finish_reason,
        usage,
        cost_usd,
    } = response;
    let mut events = Vec::with_capacity(2);
    if !text.is_empty() {
        events.push(Ok(StreamEvent::Delta(text)));
    }
    events.push(Ok(StreamEvent::Done {
        finish_reason,
        usage,
        cost_usd,
    }));
    Box::pin(futures::stream::iter(events))
}

/// The deadline of a call that starts now.
pub(crate) fn deadline(options: &CallOptions) -> Instant {
    Instant::now() + options.timeout
}

/// Runs `future` until it finishes, the deadline passes, or the call is cancelled.
pub(crate) async fn bounded<T>(
    options: &CallOptions,
    deadline: Instant,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        biased;
        () = options.cancel.cancelled() => Err(Error::Cancelled),
        () = tokio::time::sleep_until(deadline) => Err(Error::Timeout { after: options.timeout }),
        result = future => result,
    }
}

/// Wraps a stream so that it ends with an error at the deadline or on cancellation, and ends
/// after its first error or its `Done` event.
pub(crate) fn bounded_stream(
    inner: ChatStream,
    options: CallOptions,
    deadline: Instant,
) -> ChatStream {
    struct State {
        inner: ChatStream,
        options: CallOptions,
        deadline: Instant,
        finished: bool,
    }
    let state = State {
        inner,
        options,
        deadline,
        finished: false,
    };
    Box::pin(futures::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        let item = tokio::select! {
            biased;
            () = state.options.cancel.cancelled() => Some(Err(Error::Cancelled)),
            () = tokio::time::sleep_until(state.deadline) => {
                Some(Err(Error::Timeout { after: state.options.timeout }))
            }
            item = state.inner.next() => item,
        };
        match &item {
            None | Some(Err(_)) | Some(Ok(StreamEvent::Done { .. })) => state.finished = true,
            Some(Ok(StreamEvent::Delta(_))) => {}
        }
        item.map(|item| (item, state))
    }))
}

/// The finish event for a call that produced `usage`.
pub(crate) fn done(
    finish_reason: FinishReason,
    usage: Usage,
    cost_usd: Option<f64>,
) -> StreamEvent {
    StreamEvent::Done {
        finish_reason,
        usage,
        cost_usd,
    }
}
