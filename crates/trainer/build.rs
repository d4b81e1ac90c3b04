//! Link arguments for the `cuda` feature: without `--no-as-needed` the linker drops
//! `libtorch_cuda.so` (nothing references its symbols directly) and CUDA reads as unavailable.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
