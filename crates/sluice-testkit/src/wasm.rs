//! WebAssembly modules from C sources: the example user functions the
//! tests and benchmarks load are built with Debian's clang and lld
//! (installed with apt when missing), as a user builds theirs (see
//! `docs/wasm-functions.md`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::server::{ensure_packages, find_program};

const COMPILERS: [&str; 7] = [
    "clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14",
];

fn clang() -> Option<PathBuf> {
    find_program(&COMPILERS)
}

fn wasm_ld() -> Option<PathBuf> {
    find_program(&[
        "wasm-ld",
        "wasm-ld-19",
        "wasm-ld-18",
        "wasm-ld-17",
        "wasm-ld-16",
        "wasm-ld-15",
        "wasm-ld-14",
    ])
}

/// Installs clang and lld unless a clang and a wasm-ld are there.
pub fn install() {
    ensure_packages("WebAssembly functions", &["clang", "lld"], || {
        clang().is_some() && wasm_ld().is_some()
    });
}

/// Compiles the C file `source` into the module `out`, with `include` (the
/// directory of `sluice_udf.h`) on the include path. Panics with the
/// compiler's messages when it fails.
pub fn build_c_module(source: &Path, include: &Path, out: &Path) -> PathBuf {
    install();
    let clang = clang().expect("clang is installed");
    let output = Command::new(&clang)
        .args([
            "--target=wasm32",
            "-O2",
            "-nostdlib",
            "-mbulk-memory",
            "-Wl,--no-entry",
            "-fuse-ld=lld",
        ])
        .arg("-I")
        .arg(include)
        .arg("-o")
        .arg(out)
        .arg(source)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", clang.display()));
    assert!(
        output.status.success(),
        "{} {}:\n{}",
        clang.display(),
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out.to_path_buf()
}
