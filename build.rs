//! Embeds the libtorch library folder (reported by torch-sys as `DEP_TCH_LIBTORCH_LIB`) as a
//! run path of this package's binaries, tests and examples, so they run without LD_LIBRARY_PATH,
//! and keeps `libtorch_cuda` linked when libtorch has it (the linker's `--as-needed` would drop
//! it, since no symbol of it is used directly, and CUDA would then never be available).
//!
//! Link arguments do not reach crates that depend on this one, so the folder is also passed on
//! as `libtorch_lib` (`links = "tch_distributions"`): their build scripts read it as
//! `DEP_TCH_DISTRIBUTIONS_LIBTORCH_LIB` and print the same two arguments (README, "Use it in your
//! crate"). It also compiles the C++ files of `csrc/` (see `compile_csrc`). With the `doc-only`
//! feature torch-sys finds no libtorch and reports no folder: nothing is printed or compiled.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:libtorch_lib={lib}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
        compile_csrc(std::path::Path::new(&lib));
    }
}

/// `csrc/parallel.cpp` (libtorch's `at::parallel_for` for the host loops) and
/// `csrc/host_function.cpp` (an autograd node running Rust functions) against libtorch's
/// headers with torch-sys's flags: C++17, the CXX11 ABI (`LIBTORCH_CXX11_ABI`, default 1, as
/// torch-sys), OpenMP (libtorch's pool; `-lgomp` is linked by torch-sys, and resolves to the
/// wheel's own libgomp through the run path).
fn compile_csrc(lib: &std::path::Path) {
    println!("cargo:rerun-if-changed=csrc/parallel.cpp");
    println!("cargo:rerun-if-changed=csrc/host_function.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let include = lib.parent().map(|p| p.join("include")).unwrap_or_default();
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .file("csrc/parallel.cpp")
        .file("csrc/host_function.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-fopenmp")
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("tchd_csrc");
}
