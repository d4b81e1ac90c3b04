//! GGUF files (skeleton, being written): metadata, tensors, tokenizer, writer.
