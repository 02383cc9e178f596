//! The build's identity, `PEERS_SOURCE_HASH`: a hash of the sources the two
//! executables of this package (`claude-peers`, `claude-peers-mcp`) are built
//! from. `claude-peers mcp` hands its session over to `claude-peers-mcp` only
//! when the two agree on it (`claude_peers::mcp::VERSION`), so a
//! `cargo build --bin claude-peers` after a change never leaves an older
//! server answering beside the new `claude-peers`: that one serves
//! in-process instead. Two builds of the same sources get the same identity.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // In the repository: every crate of the workspace (the MCP server is
    // built from several). From a published package: this crate alone.
    let root = manifest.join("../..");
    let crates: Vec<PathBuf> = match std::fs::read_dir(root.join("crates")) {
        Ok(dir) if root.join("Cargo.lock").is_file() => {
            let mut v: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
            v.sort();
            v
        }
        _ => vec![manifest.clone()],
    };
    let mut files = Vec::new();
    for krate in &crates {
        for part in ["src", "Cargo.toml"] {
            let p = krate.join(part);
            println!("cargo:rerun-if-changed={}", p.display());
            collect(&p, &mut files);
        }
    }
    let lock = root.join("Cargo.lock");
    if lock.is_file() {
        println!("cargo:rerun-if-changed={}", lock.display());
        files.push(lock);
    }
    files.sort();
    let mut hash = Sha256::new();
    for f in &files {
        if let Ok(bytes) = std::fs::read(f) {
            let name = f.strip_prefix(&root).unwrap_or(f);
            hash.update(name.to_string_lossy().as_bytes());
            hash.update([0]);
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
        }
    }
    let digest = hash.finalize();
    let id: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=PEERS_SOURCE_HASH={id}");
}

/// Every file at or below `p`.
fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_file() {
        out.push(p.to_path_buf());
    } else if let Ok(dir) = std::fs::read_dir(p) {
        for e in dir.flatten() {
            collect(&e.path(), out);
        }
    }
}
