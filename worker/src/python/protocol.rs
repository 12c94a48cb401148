//! What the worker and a Python runner say to each other over the runner's private pipes:
//! frames of a 4-byte big-endian length, one byte of kind, then JSON (or text).
//!
//! The worker sends [`SESSION`] to start a fresh session (a process of its own, for one tenant)
//! and [`REQUEST`] frames, which run in the current session. The runner answers [`READY`]
//! (with the session process's pid) once it started and after every `SESSION`, and for each
//! request either [`RESULT`] (a [`RunResponse`]) or [`CRASHED`] (why the session's process died;
//! the next request then needs a new session).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The largest frame either side accepts; larger means a broken peer.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

pub const SESSION: u8 = b'n';
pub const REQUEST: u8 = b'q';
pub const READY: u8 = b'r';
pub const RESULT: u8 = b's';
pub const CRASHED: u8 = b'c';

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    pub source: String,
    /// Shown in tracebacks: `<step 2>` for inline code, the script's name otherwise.
    pub filename: String,
    pub function: Option<String>,
    pub context: Value,
    /// The project's secrets by name, for a step that may use them: the read-only `secrets`
    /// mapping of the step's code.
    #[serde(default, skip_serializing_if = "SecretMap::is_empty")]
    pub secrets: SecretMap,
    /// Bytes of stdout/stderr kept; the rest is replaced by a truncation marker.
    pub log_cap: usize,
}

/// Secret values by name; `Debug` shows the names only.
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretMap(pub BTreeMap<String, String>);

impl SecretMap {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResponse {
    pub ok: bool,
    /// The result as JSON text, when `ok`.
    pub output: Option<String>,
    pub log: String,
    pub error_type: Option<String>,
    pub message: Option<String>,
    pub traceback: Option<String>,
    /// The failure would repeat: the code does not compile, the named function is missing, the
    /// result is not JSON. Other exceptions of the step's code may pass at another try.
    #[serde(default)]
    pub permanent: bool,
    /// Not sent: every secret value the session that ran the step was given so far (by this
    /// step or earlier ones), which its code may have found left behind.
    #[serde(skip)]
    pub session_secrets: Vec<String>,
}

pub fn encode(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(5 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32 + 1).to_be_bytes());
    frame.push(kind);
    frame.extend_from_slice(payload);
    frame
}

fn split(mut frame: Vec<u8>) -> std::io::Result<(u8, Vec<u8>)> {
    if frame.is_empty() {
        return Err(std::io::Error::other("empty frame"));
    }
    let kind = frame.remove(0);
    Ok((kind, frame))
}

fn length(len: [u8; 4]) -> std::io::Result<usize> {
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    Ok(len)
}

/// Reads one frame from a blocking reader (the runner side): its kind and payload.
pub fn read_frame(reader: &mut impl std::io::Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    let mut frame = vec![0u8; length(len)?];
    reader.read_exact(&mut frame)?;
    split(frame)
}

/// Reads one frame from an async reader (the worker side).
pub async fn read_frame_async(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
) -> std::io::Result<(u8, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut len = [0u8; 4];
    reader.read_exact(&mut len).await?;
    let mut frame = vec![0u8; length(len)?];
    reader.read_exact(&mut frame).await?;
    split(frame)
}

/// A process's end as a person wants to read it in a note.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(libc::SIGKILL) => "killed, likely by a resource limit".into(),
        Some(libc::SIGSEGV) => "crashed with a segmentation fault".into(),
        Some(libc::SIGABRT) => "aborted, likely out of memory".into(),
        Some(libc::SIGXCPU) => "CPU time limit exceeded".into(),
        Some(libc::SIGXFSZ) => "file size limit exceeded".into(),
        Some(libc::SIGSYS) => "stopped by the sandbox (a forbidden system call)".into(),
        Some(sig) => format!("killed by signal {sig}"),
        None => format!("exited with {status}"),
    }
}
