//! Embeds the libtorch library folder (reported by torch-sys as `DEP_TCH_LIBTORCH_LIB`) as a
//! run path of this package's binaries, tests and examples, so they run without LD_LIBRARY_PATH,
//! and keeps `libtorch_cuda` linked when libtorch has it (the linker's `--as-needed` would drop
//! it, since no symbol of it is used directly, and CUDA would then never be available).
//!
//! Link arguments do not reach crates that depend on this one, so the folder is also passed on
//! as `libtorch_lib` (`links = "tch_distributions"`): their build scripts read it as
//! `DEP_TCH_DISTRIBUTIONS_LIBTORCH_LIB` and print the same two arguments (README, "Use it in your
//! crate"). With the `doc-only` feature torch-sys finds no libtorch and reports no folder: nothing
//! is printed.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:libtorch_lib={lib}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
