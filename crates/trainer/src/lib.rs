//! Pipeline stage 4 (skeleton, being written): QLoRA fine-tuning on libtorch.
