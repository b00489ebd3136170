//! The nightly batch: lock → ingest → score → report → manifest → retention. Every stage
//! writes atomically and is idempotent, so a killed run followed by a new one yields the same
//! lake, alerts and report as an uninterrupted run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::IoContext;
use crate::ingest::IngestSummary;
use crate::{Error, Result};

/// A run's manifest (`<output>/runs/<run>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Run id (the ingest run id).
    pub run: String,
    /// Scoring date.
    pub as_of: NaiveDate,
    /// Wall-clock start (UTC, RFC 3339).
    pub started: String,
    /// BLAKE3 of the config file (`b3sum`).
    pub config_blake3: String,
    /// Inputs with content hashes and row accounting.
    pub ingest: IngestSummary,
    /// Escalation model version used (None when it refused to train).
    pub model: Option<String>,
    /// Text classifier used to fill blank categories (None when it refused to train).
    #[serde(default)]
    pub text_model: Option<String>,
    /// Why the model was not used.
    pub model_error: Option<String>,
    /// Red and yellow compounds.
    pub red: usize,
    /// See `red`.
    pub yellow: usize,
    /// Seconds per stage.
    pub stages: BTreeMap<String, f64>,
    /// The process's peak resident memory (MB) at the end of each stage (Linux; the peak
    /// of the run so far, so the stage where it jumps is the one that needed it).
    #[serde(default)]
    pub peak_memory_mb: BTreeMap<String, f64>,
    /// Files written.
    pub outputs: Vec<String>,
    /// ok, partial (a source failed), failed.
    pub status: String,
    /// Error message of a failed run.
    pub error: Option<String>,
}

/// The process's peak resident set size in MB (`VmHWM`), where the OS reports it.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// An exclusive run lock: a file holding the owner's pid. A lock whose process is gone (a
/// crashed or killed run) is taken over.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    if proc.exists() {
        // A zombie (killed, not yet reaped) counts as gone.
        return std::fs::read_to_string(proc.join(pid.to_string()).join("stat"))
            .map(|s| !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
            .unwrap_or(false);
    }
    true // elsewhere: be safe, the message tells how to clear it
}

impl Lock {
    /// Takes the lock at `path`.
    ///
    /// # Errors
    /// [`Error::Locked`] when a live process holds it; I/O errors.
    pub fn acquire(path: &Path) -> Result<Lock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id()).at(path)?;
                    f.sync_all().at(path)?;
                    return Ok(Lock { path: path.into() });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid: u32 = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0);
                    if pid != 0 && alive(pid) {
                        return Err(Error::Locked {
                            path: path.into(),
                            pid,
                        });
                    }
                    tracing::warn!(pid, lock = %path.display(), "taking over a stale lock (its run is gone)");
                    std::fs::remove_file(path).at(path)?;
                }
                Err(e) => {
                    return Err(Error::Io {
                        path: path.into(),
                        source: e,
                    })
                }
            }
        }
        Err(Error::Locked {
            path: path.into(),
            pid: 0,
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// BLAKE3 of a file's bytes, hex: the fingerprint of inputs, configs and lake partitions.
/// It takes about a quarter of SHA-256's CPU here (0.7 % of the benchmark ingest's samples
/// against 2.6 %) and a large file is hashed on every core, so the ingest waits much less
/// before its first row (0.2 s less on the 449 MB benchmark export). The next piece is read
/// while the last is hashed: read first and hashed after, the kernel's copy of the 502 MB
/// benchmark export into the buffer held one core for a third of the digest while the
/// other waited. The file is read, not memory-mapped: an export truncated by another
/// program while mapped would end the batch with SIGBUS.
///
/// # Errors
/// I/O.
pub fn file_digest(path: &Path) -> Result<String> {
    // Streamed: exports can be larger than memory should hold.
    let mut f = std::fs::File::open(path).at(path)?;
    let mut h = blake3::Hasher::new();
    let (mut piece, mut next) = (vec![0u8; 4 << 20], vec![0u8; 4 << 20]);
    let mut n = crate::ingest::readers::read_full(&mut f, &mut piece).at(path)?;
    while n > 0 {
        let (read, ()) = rayon::join(
            || crate::ingest::readers::read_full(&mut f, &mut next),
            || {
                // Split across the cores the read leaves free.
                h.update_rayon(&piece[..n]);
            },
        );
        n = read.at(path)?;
        std::mem::swap(&mut piece, &mut next);
    }
    Ok(h.finalize().to_hex().to_string())
}

/// Writes a manifest atomically.
///
/// # Errors
/// I/O or JSON errors.
pub fn write_manifest(output: &Path, m: &Manifest) -> Result<PathBuf> {
    let p = output.join("runs").join(format!("{}.json", m.run));
    crate::lake::write_atomic(&p, |f| Ok(serde_json::to_writer_pretty(f, m)?))?;
    Ok(p)
}

/// Past manifests, oldest first.
///
/// # Errors
/// An unreadable runs folder.
pub fn list_runs(output: &Path) -> Result<Vec<Manifest>> {
    let dir = output.join("runs");
    let mut out = vec![];
    if !dir.exists() {
        return Ok(out);
    }
    for e in std::fs::read_dir(&dir).at(&dir)?.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            match std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
            {
                Some(m) => out.push(m),
                None => tracing::warn!(file = %p.display(), "unreadable run manifest skipped"),
            }
        }
    }
    out.sort_by(|a, b| a.started.cmp(&b.started).then(a.run.cmp(&b.run)));
    Ok(out)
}

/// Deletes reports, alerts and manifests older than `keep_days` before `as_of` (the lake is
/// never pruned). Returns what was removed.
///
/// # Errors
/// I/O errors.
pub fn retention(cfg: &Config, as_of: NaiveDate) -> Result<Vec<PathBuf>> {
    let mut removed = vec![];
    if cfg.scoring.keep_days <= 0 {
        return Ok(removed);
    }
    let oldest = as_of - chrono::Duration::days(cfg.scoring.keep_days);
    let output = cfg.resolve(&cfg.scoring.output);
    for (dir, prefix) in [("reports", ""), ("alerts", "as_of=")] {
        let d = output.join(dir);
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(date) = name
                .strip_prefix(prefix)
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            {
                if date < oldest {
                    std::fs::remove_dir_all(e.path()).at(e.path())?;
                    removed.push(e.path());
                }
            }
        }
    }
    for m in list_runs(&output)? {
        if m.as_of < oldest {
            let p = output.join("runs").join(format!("{}.json", m.run));
            std::fs::remove_file(&p).at(&p)?;
            removed.push(p);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_digest_is_the_blake3_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        // The published BLAKE3 of no bytes.
        std::fs::write(&p, b"").unwrap();
        assert_eq!(
            file_digest(&p).unwrap(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        // Read in pieces across buffer boundaries, hashed as one.
        let bytes: Vec<u8> = (0..9_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in [100, 4 << 20, (4 << 20) + 1, 8 << 20, bytes.len()] {
            std::fs::write(&p, &bytes[..len]).unwrap();
            assert_eq!(
                file_digest(&p).unwrap(),
                blake3::hash(&bytes[..len]).to_hex().to_string(),
                "{len} bytes"
            );
        }
        assert!(file_digest(&dir.path().join("missing")).is_err());
    }
}
