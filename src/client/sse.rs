//! Server-sent events (the watch stream) read off a response.

use super::ClientError;

/// One server-sent event: its `event:` name and `data:` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
}

/// Reads server-sent events from `resp`, calling `on_event` for each until the stream ends
/// or `on_event` returns false.
pub async fn read_sse(
    mut resp: reqwest::Response,
    mut on_event: impl FnMut(SseEvent) -> bool,
) -> Result<(), ClientError> {
    let url = resp.url().to_string();
    let mut buf = String::new();
    let (mut name, mut data) = (String::new(), String::new());
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(ClientError::Unreachable {
                    url,
                    reason: e.to_string(),
                })
            }
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(pos) = buf.find('\n') {
            let line: String = buf.drain(..=pos).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !data.is_empty() || !name.is_empty() {
                    let ev = SseEvent {
                        name: std::mem::take(&mut name),
                        data: std::mem::take(&mut data),
                    };
                    if !on_event(ev) {
                        return Ok(());
                    }
                }
            } else if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
    }
}
