// SPDX-License-Identifier: BSD-2-Clause
//
// build.rs: link the anyload C library (libanyvi.a) from the build tree.
// ANYVI_LIB_DIR names the directory that holds libanyvi.a (default: the
// repository's build/lib, two levels above this crate). The library's own
// dependencies are linked dynamically: those that the build wrote into
// anyvi.pc next to it (Libs.private), so that they follow the Makefile,
// else libbpf, libelf, zlib and pthread.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=ANYVI_LIB_DIR");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let dir = match env::var_os("ANYVI_LIB_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_relative() {
                manifest.join(d)
            } else {
                d
            }
        }
        _ => manifest.join("../../build/lib"),
    };
    let lib = dir.join("libanyvi.a");
    if !lib.is_file() {
        panic!(
            "anyvi: {} not found; build the C library first (`make lib` at \
             the repository root) or set ANYVI_LIB_DIR to the directory \
             that holds libanyvi.a",
            lib.display()
        );
    }
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static=anyvi");
    for l in private_libs(&dir.join("anyvi.pc")) {
        println!("cargo:rustc-link-lib=dylib={l}");
    }
}

/// The -l names of the `Libs.private:` line of a pkg-config file, or the
/// library's known dependencies if there is no such file or line.
fn private_libs(pc: &std::path::Path) -> Vec<String> {
    println!("cargo:rerun-if-changed={}", pc.display());
    let text = std::fs::read_to_string(pc).unwrap_or_default();
    let libs: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Libs.private:"))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|w| w.strip_prefix("-l"))
        .map(str::to_owned)
        .collect();
    if libs.is_empty() {
        ["bpf", "elf", "z", "pthread"].map(String::from).to_vec()
    } else {
        libs
    }
}
