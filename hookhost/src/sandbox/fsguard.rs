//! Guards on top of WASI's filesystem, for writable directory grants:
//!
//! - a symlink a guest creates must point inside the grant it is created
//!   in: an absolute target, or a relative one whose `..` climbs out of the
//!   grant, is refused (`not-permitted`). The guest could not follow such a
//!   link (cap-std stops it), but host tools reading the directory would.
//! - a grant's `quota_mib` bounds the bytes in the granted directory: a file
//!   opened for writing may only add what is left under the quota (the
//!   directory's size when the write starts, minus what other open streams
//!   of the same grant are writing); past it, writes fail with `quota`.
//!
//! Both replace single functions of `wasi:filesystem/types` in the linker
//! and call WASI's own implementation once the check passes. A descriptor's
//! host path is read from `/proc/self/fd` (Linux).

use std::os::fd::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{self, ErrorCode, HostDescriptor};
use wasmtime_wasi::p2::{DynOutputStream, OutputStream, Pollable, StreamError, StreamResult};

use super::guards::{GrantGuard, Quota};
use super::state::State;

/// The `wasi:filesystem/types` this wasmtime-wasi provides.
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// The host path an open file or directory descriptor refers to.
fn host_path(fd: &impl AsRawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()
}

/// `path` with `.` and `..` resolved lexically (never above the root).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Whether a symlink `link` (relative to the directory `dir`) pointing at
/// `target` stays inside one of the guest's writable grants.
fn symlink_stays_inside(guards: &[GrantGuard], dir: &Path, target: &str, link: &str) -> bool {
    if Path::new(target).is_absolute() {
        return false;
    }
    let link_at = normalize(&dir.join(link));
    let Some(link_dir) = link_at.parent() else {
        return false;
    };
    let resolved = normalize(&link_dir.join(target));
    guards
        .iter()
        .any(|g| link_at.starts_with(&g.root) && resolved.starts_with(&g.root))
}

/// Bytes of the regular files under `dir` (not following symlinks).
fn directory_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => stack.push(entry.path()),
                Ok(meta) if meta.is_file() => total += meta.len(),
                _ => {}
            }
        }
    }
    total
}

/// The quota of the grant a file descriptor is in, with what is left of it
/// now; `None` when its grant has no quota.
fn quota_for(state: &mut State, fd: &Resource<Descriptor>) -> Option<(Arc<Quota>, u64)> {
    if state.guards.iter().all(|g| g.quota.is_none()) {
        return None;
    }
    let Ok(Descriptor::File(file)) = state.table.get(fd) else {
        return None;
    };
    let path = host_path(&*file.file)?;
    let guard = state
        .guards
        .iter()
        .find(|g| g.quota.is_some() && path.starts_with(&g.root))?;
    let quota = guard.quota.clone()?;
    let used = directory_size(&guard.root) + quota.pending.load(Ordering::Acquire);
    Some((quota.clone(), quota.limit.saturating_sub(used)))
}

fn quota_exceeded() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::EDQUOT)
}

/// An output stream of a file in a grant with a quota: it writes at most
/// `allowance` bytes.
struct QuotaStream {
    inner: DynOutputStream,
    quota: Arc<Quota>,
    allowance: u64,
    written: u64,
}

impl QuotaStream {
    fn take(&mut self, bytes: usize) -> StreamResult<()> {
        let bytes = bytes as u64;
        if bytes > self.allowance {
            self.allowance = 0;
            return Err(StreamError::LastOperationFailed(quota_exceeded().into()));
        }
        self.allowance -= bytes;
        self.written += bytes;
        self.quota.pending.fetch_add(bytes, Ordering::AcqRel);
        Ok(())
    }

    fn cap(&self, permit: usize) -> StreamResult<usize> {
        if self.allowance == 0 {
            return Err(StreamError::LastOperationFailed(quota_exceeded().into()));
        }
        Ok(permit.min(usize::try_from(self.allowance).unwrap_or(usize::MAX)))
    }
}

impl Drop for QuotaStream {
    fn drop(&mut self) {
        // What it wrote is in the directory's size from now on.
        self.quota.pending.fetch_sub(self.written, Ordering::AcqRel);
    }
}

#[async_trait::async_trait]
impl Pollable for QuotaStream {
    async fn ready(&mut self) {
        self.inner.ready().await;
    }
}

#[async_trait::async_trait]
impl OutputStream for QuotaStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(bytes.len())?;
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        let permit = self.inner.check_write()?;
        self.cap(permit)
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.take(bytes.len())?;
        self.inner.blocking_write_and_flush(bytes).await
    }

    fn write_zeroes(&mut self, count: usize) -> StreamResult<()> {
        self.take(count)?;
        self.inner.write_zeroes(count)
    }

    async fn write_ready(&mut self) -> StreamResult<usize> {
        let permit = self.inner.write_ready().await?;
        self.cap(permit)
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await;
    }
}

/// Replace `output` in the table by a stream bounded by `quota`.
fn bounded(
    state: &mut State,
    output: Resource<DynOutputStream>,
    quota: Arc<Quota>,
    allowance: u64,
) -> wasmtime::Result<Resource<DynOutputStream>> {
    let inner = state.table.delete(output)?;
    let stream: DynOutputStream = Box::new(QuotaStream {
        inner,
        quota,
        allowance,
        written: 0,
    });
    Ok(state.table.push(stream)?)
}

type FsReturn<T> = wasmtime::Result<(Result<T, ErrorCode>,)>;

/// The error code WASI gives a failed call (or the trap it stands for).
fn code<T>(
    state: &mut State,
    result: Result<T, wasmtime_wasi::p2::FsError>,
) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(err) => Ok(Err(types::Host::convert_error_code(
            &mut state.filesystem(),
            err,
        )?)),
    }
}

/// Install the guards in a linker that already has WASI.
pub(crate) fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut fs = linker.instance(FILESYSTEM_TYPES)?;
    fs.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store, (fd, target, link): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let dir = match state.table.get(&fd)? {
                    Descriptor::Dir(dir) => host_path(&*dir.dir),
                    Descriptor::File(_) => None,
                };
                if let Some(dir) = dir
                    && !symlink_stays_inside(&state.guards, &dir, &target, &link)
                {
                    tracing::warn!(hook = %state.name, %target, %link, "refused a symlink pointing outside its grant");
                    return Ok((Err(ErrorCode::NotPermitted),));
                }
                let result =
                    HostDescriptor::symlink_at(&mut state.filesystem(), fd, target, link).await;
                Ok((code(state, result)?,))
            })
        },
    )?;
    fs.func_wrap_async(
        "[method]descriptor.write-via-stream",
        |mut store, (fd, offset): (Resource<Descriptor>, u64)| {
            Box::new(async move {
                let state = store.data_mut();
                let quota = quota_for(state, &fd);
                if quota.as_ref().is_some_and(|(_, left)| *left == 0) {
                    return Ok((Err(ErrorCode::Quota),));
                }
                let result = HostDescriptor::write_via_stream(&mut state.filesystem(), fd, offset);
                with_quota(state, result, quota)
            })
        },
    )?;
    fs.func_wrap_async(
        "[method]descriptor.append-via-stream",
        |mut store, (fd,): (Resource<Descriptor>,)| {
            Box::new(async move {
                let state = store.data_mut();
                let quota = quota_for(state, &fd);
                if quota.as_ref().is_some_and(|(_, left)| *left == 0) {
                    return Ok((Err(ErrorCode::Quota),));
                }
                let result = HostDescriptor::append_via_stream(&mut state.filesystem(), fd);
                with_quota(state, result, quota)
            })
        },
    )?;
    fs.func_wrap_async(
        "[method]descriptor.write",
        |mut store, (fd, buffer, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
            Box::new(async move {
                let state = store.data_mut();
                if let Some((_, left)) = quota_for(state, &fd)
                    && buffer.len() as u64 > left
                {
                    return Ok((Err(ErrorCode::Quota),));
                }
                let result =
                    HostDescriptor::write(&mut state.filesystem(), fd, buffer, offset).await;
                Ok((code(state, result)?,))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn with_quota(
    state: &mut State,
    result: Result<Resource<DynOutputStream>, wasmtime_wasi::p2::FsError>,
    quota: Option<(Arc<Quota>, u64)>,
) -> FsReturn<Resource<DynOutputStream>> {
    let stream = match code(state, result)? {
        Ok(stream) => stream,
        Err(err) => return Ok((Err(err),)),
    };
    Ok((Ok(match quota {
        Some((quota, left)) => bounded(state, stream, quota, left)?,
        None => stream,
    }),))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_must_resolve_inside_their_grant() {
        let guards = [GrantGuard {
            root: PathBuf::from("/srv/grant"),
            quota: None,
        }];
        let inside = |dir: &str, target: &str, link: &str| {
            symlink_stays_inside(&guards, Path::new(dir), target, link)
        };
        assert!(inside("/srv/grant", "file.txt", "link"));
        assert!(inside("/srv/grant/a", "../b/file.txt", "link"));
        assert!(inside("/srv/grant", "a/../file.txt", "sub/link"));
        assert!(!inside("/srv/grant", "/etc/passwd", "link"));
        assert!(!inside("/srv/grant", "../outside", "link"));
        assert!(!inside("/srv/grant/a", "../../x", "link"));
        assert!(!inside("/srv/grant", "file", "../escaped-link"));
    }
}
