//! Project automation (`cargo xtask …`); being written.
fn main() {}
