//! On-disk cache of compiled components, so a restart (or `hookhost exec`,
//! one process per event) deserializes instead of recompiling.
//!
//! An entry is keyed by the component's sha256 and by the engine's
//! compatibility hash (wasmtime version, target, and codegen settings such
//! as fuel): an artifact is only ever loaded into an engine that could have
//! produced it. Entries are written to a temporary file and renamed into
//! place, so a crash never leaves a truncated entry behind; an entry that
//! still fails to load is recompiled and replaced.
//!
//! Loading an entry executes its machine code: the cache directory must be
//! writable only by the user running hookhost. hookhost creates it mode
//! 0700, and checks it before every read and write: a directory owned by
//! another user, or writable by group or others, is not used (a warning
//! says why, once; components are then compiled in memory).
//!
//! Beside the whole components, [`FunctionCache`] keeps Cranelift's
//! compiled functions (wasmtime's incremental compilation): components
//! built by one toolchain share most of their code — every Python
//! component embeds CPython, every JavaScript one StarlingMonkey — so a
//! new component of a known toolchain compiles only its own functions.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Counters of the compile cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Components loaded from the on-disk cache.
    pub hits: u64,
    /// Components compiled (and written to the cache when it is enabled).
    pub compiled: u64,
    /// Functions taken from the cache while compiling (Cranelift's
    /// compiled code of a function another component had too).
    pub functions_reused: u64,
    /// Functions compiled and written to the cache.
    pub functions_stored: u64,
}

impl CacheStats {
    /// Write the compile cache's counters.
    pub(crate) fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::DescriptorEncoder<'_>,
    ) -> crate::prom::Encoded {
        use crate::prom::counter;
        counter(
            encoder,
            "compile_cache_hits",
            "Components loaded from the compile cache",
            self.hits,
        )?;
        counter(
            encoder,
            "compile_cache_compiled",
            "Components compiled",
            self.compiled,
        )?;
        counter(
            encoder,
            "compile_cache_functions_reused",
            "Compiled functions taken from the compile cache while compiling a component",
            self.functions_reused,
        )?;
        counter(
            encoder,
            "compile_cache_functions_stored",
            "Compiled functions written to the compile cache",
            self.functions_stored,
        )
    }
}

/// Feeds `Hash` output into sha256, for a stable digest of the engine hash.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        unreachable!("only finalized through the digest")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    functions: Option<std::sync::Arc<FunctionCache>>,
    engine_key: String,
    hits: AtomicU64,
    compiled: AtomicU64,
    warned: std::sync::atomic::AtomicBool,
}

/// Whether `dir` is private to this user: owned by it and writable by
/// nobody else. A missing directory is fine (hookhost creates it 0700).
fn private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err.to_string()),
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not {me}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("mode {:o} lets others write", meta.mode() & 0o777));
    }
    Ok(())
}

impl CompileCache {
    pub(crate) fn new(
        dir: Option<PathBuf>,
        functions: Option<std::sync::Arc<FunctionCache>>,
        engine: &Engine,
    ) -> Self {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        CompileCache {
            dir,
            functions,
            engine_key,
            hits: AtomicU64::new(0),
            compiled: AtomicU64::new(0),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The entry path for `sha256`, if the directory may be used now.
    fn usable_entry(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        match private(dir) {
            Ok(()) => self.entry(sha256),
            Err(why) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(dir = %dir.display(), %why, "compile cache directory is not private to this user: not used (components compile in memory)");
                }
                None
            }
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let functions = |count: fn(&FunctionCache) -> &AtomicU64| {
            self.functions
                .as_deref()
                .map_or(0, |f| count(f).load(Ordering::Relaxed))
        };
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            compiled: self.compiled.load(Ordering::Relaxed),
            functions_reused: functions(|f| &f.reused),
            functions_stored: functions(|f| &f.stored),
        }
    }

    fn entry(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    /// The compiled component for `wasm` (whose sha256 is `sha256`).
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<Component> {
        let entry = self.usable_entry(sha256);
        if let Some(entry) = &entry
            && entry.is_file()
        {
            // SAFETY: entries are written only by `store` below, from
            // `Component::serialize` of an engine with the same compatibility
            // hash, into a directory private to this user.
            match unsafe { Component::deserialize_file(engine, entry) } {
                Ok(component) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(entry = %entry.display(), "component loaded from the compile cache");
                    return Ok(component);
                }
                Err(err) => {
                    tracing::warn!(entry = %entry.display(), error = %err, "compile cache entry unusable, recompiling");
                }
            }
        }
        let component = Component::from_binary(engine, wasm)?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(sha256, cache = ?entry, "component compiled");
        if let Some(entry) = &entry
            && let Err(err) = store(entry, &component)
        {
            tracing::warn!(entry = %entry.display(), error = %err, "cannot write the compile cache");
        }
        Ok(component)
    }
}

fn store(entry: &Path, component: &Component) -> anyhow::Result<()> {
    let dir = entry
        .parent()
        .expect("cache entries live in the cache directory");
    if !dir.is_dir() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, entry)?;
    Ok(())
}

/// Cranelift's compiled functions, one file per function under
/// `DIR/functions/`, named by the sha256 of Cranelift's key (which covers
/// the function's code, the target and the codegen settings; an entry
/// from another Cranelift release is refused by Cranelift and recompiled).
/// The same trust as the component entries: used only while the directory
/// is private to this user.
#[derive(Debug)]
pub(crate) struct FunctionCache {
    dir: PathBuf,
    functions: PathBuf,
    reused: AtomicU64,
    stored: AtomicU64,
}

impl FunctionCache {
    pub(crate) fn new(dir: &Path) -> Self {
        FunctionCache {
            dir: dir.to_owned(),
            functions: dir.join("functions"),
            reused: AtomicU64::new(0),
            stored: AtomicU64::new(0),
        }
    }

    /// The entry for `key`, if the directory may be used now.
    fn entry(&self, key: &[u8]) -> Option<PathBuf> {
        private(&self.dir).ok()?;
        let name = hex::encode(Sha256::digest(key));
        Some(self.functions.join(&name[..2]).join(&name[2..]))
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let bytes = std::fs::read(self.entry(key)?).ok()?;
        self.reused.fetch_add(1, Ordering::Relaxed);
        Some(Cow::Owned(bytes))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let Some(entry) = self.entry(key) else {
            return false;
        };
        let dir = entry.parent().expect("an entry lives in a directory");
        let written = (|| -> std::io::Result<()> {
            if !dir.is_dir() {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)?;
            }
            // Written aside and renamed: a reader never sees half an entry
            // (compiling threads of this and other processes share it).
            let tmp = entry.with_extension(format!(
                "tmp{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::write(&tmp, value)?;
            std::fs::rename(&tmp, &entry)
        })();
        if written.is_ok() {
            self.stored.fetch_add(1, Ordering::Relaxed);
        }
        written.is_ok()
    }
}
