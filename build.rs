//! Embeds the libtorch library folder (reported by torch-sys as `DEP_TCH_LIBTORCH_LIB`) as a
//! run path of this package's binaries, tests and examples, so they run without LD_LIBRARY_PATH,
//! and keeps `libtorch_cuda` linked when libtorch has it (the linker's `--as-needed` would drop
//! it, since no symbol of it is used directly, and CUDA would then never be available).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
