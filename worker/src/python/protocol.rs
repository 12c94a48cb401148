//! What the worker and a Python runner say to each other over the runner's private pipes:
//! frames of a 4-byte big-endian length followed by that many bytes of JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The largest frame either side accepts; larger means a broken peer.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    pub source: String,
    /// Shown in tracebacks: `<step 2>` for inline code, the script's name otherwise.
    pub filename: String,
    pub function: Option<String>,
    pub context: Value,
    /// Bytes of stdout/stderr kept; the rest is replaced by a truncation marker.
    pub log_cap: usize,
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
}

pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Reads one frame from a blocking reader (the runner side).
pub fn read_frame(reader: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload)?;
    Ok(payload)
}

/// Reads one frame from an async reader (the worker side).
pub async fn read_frame_async(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut len = [0u8; 4];
    reader.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload).await?;
    Ok(payload)
}
