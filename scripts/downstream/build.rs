// build.rs of a crate that uses tch-distributions (README, "Use it in your crate"): a run path to
// libtorch, so the binaries start without LD_LIBRARY_PATH, and libtorch_cuda kept linked, so CUDA
// is available where libtorch has it.
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_DISTRIBUTIONS_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
