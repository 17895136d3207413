//! `dcache watch PREFIX`: prints every change until Ctrl-C. When the stream drops (the node
//! stopped, the connection broke, the watcher fell behind) it reconnects by itself, to any of
//! `--endpoints`, and resumes after the last event it printed: no gap, no repeat. It says so
//! on stderr; if no member takes the watch back within `--timeout`, it fails naming the last
//! version and the command that resumes.

use std::time::{Duration, Instant};

use crate::cli::{ClientOpts, Output};
use crate::client::{read_sse, ClientError, Endpoints, Retry, SseEvent};
use crate::commands::kv::{endpoints, escape_bytes};
use crate::types::ErrorCode;

/// Where the watch stands: what to ask for after a reconnect, and which events to skip.
///
/// Several events can share a version (a batch, a purge, coalesced writes), and a stream may
/// drop between two of them. So a reconnect asks for everything after the version before the
/// last one printed, and skips as many events of that last version as were printed; every
/// member streams the events of one version in the same (log) order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    /// `from_version` of the first request (the user's, or the node's applied index).
    start: Option<u64>,
    /// The last printed event's version, and how many events of it were printed.
    last: Option<(u64, usize)>,
    /// Events of this version still to skip after a reconnect.
    skip: Option<(u64, usize)>,
}

impl Cursor {
    fn new(start: Option<u64>) -> Cursor {
        Cursor {
            start,
            last: None,
            skip: None,
        }
    }

    /// The `from_version` to ask for now; prepares the skip of events already printed.
    fn resume(&mut self) -> Option<u64> {
        match self.last {
            Some((version, printed)) => {
                self.skip = Some((version, printed));
                Some(version.saturating_sub(1))
            }
            None => self.start,
        }
    }

    /// Whether the event of `version` is new (to print), noting it; false for one already
    /// printed before a reconnect.
    fn admit(&mut self, version: u64) -> bool {
        if let Some((v, left)) = self.skip {
            if v == version && left > 0 {
                self.skip = (left > 1).then_some((v, left - 1));
                return false;
            }
            self.skip = None;
        }
        self.last = match self.last {
            Some((v, n)) if v == version => Some((v, n + 1)),
            _ => Some((version, 1)),
        };
        true
    }

    /// The last printed version, if any.
    fn version(&self) -> Option<u64> {
        self.last.map(|(v, _)| v)
    }
}

/// How one connection's stream ended.
enum Ended {
    /// The node ended it with an error event the watch cannot recover from (COMPACTED).
    Fatal(ClientError),
    /// The stream dropped or lagged: reconnect. The text says why, for stderr.
    Dropped(String),
}

/// `dcache watch PREFIX [--from-version N]`.
pub async fn run(opts: &ClientOpts, prefix: &[u8], from_version: Option<u64>) -> Result<(), ClientError> {
    let members = endpoints(opts)?;
    // Without --from-version, start at the applied index of the member answering, so a
    // reconnect to another member still knows where the watch began.
    let start = match from_version {
        Some(v) => Some(v),
        None => members
            .call(Retry::Read, |c| async move { c.status().await })
            .await
            .ok()
            .map(|s| s.applied),
    };
    let mut cursor = Cursor::new(start);
    let mut first = true;
    loop {
        let from = cursor.resume();
        let (url, resp) = match connect(&members, prefix, from, opts.timeout, first).await {
            Ok(opened) => opened,
            Err(e) if first => return Err(e),
            Err(e) => return Err(gave_up(prefix, &cursor, opts.timeout, e)),
        };
        if !first {
            let at = from.map_or("now".to_string(), |v| format!("after version {v}"));
            eprintln!("watch: resumed on {url} {at}");
        }
        first = false;
        match stream(resp, &mut cursor, opts.output).await {
            Ended::Fatal(e) => return Err(e),
            Ended::Dropped(why) => {
                let at = cursor
                    .version()
                    .map_or(String::new(), |v| format!(" after version {v}"));
                eprintln!("watch: the stream from {url} ended{at} ({why}); reconnecting");
            }
        }
    }
}

/// Opens the watch on the current member, else the next ones; keeps trying every member
/// for `patience` (only once on the first connect, where an error is the answer).
async fn connect(
    members: &Endpoints,
    prefix: &[u8],
    from: Option<u64>,
    patience: Duration,
    first: bool,
) -> Result<(String, reqwest::Response), ClientError> {
    let deadline = Instant::now() + patience;
    loop {
        let opened = members
            .call(Retry::Read, |c| async move {
                let resp = c.watch(prefix, from).await?;
                Ok((c.server().to_string(), resp))
            })
            .await;
        match opened {
            Ok(v) => return Ok(v),
            Err(e) if first || !e.is_transient() || Instant::now() >= deadline => return Err(e),
            Err(_) => {
                members.advance();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Prints the events of one connection until it ends.
async fn stream(resp: reqwest::Response, cursor: &mut Cursor, output: Output) -> Ended {
    let mut error_event = None;
    let read = read_sse(resp, |ev| {
        if ev.name == "error" {
            error_event = Some(ev.data);
            return false;
        }
        print_event(&ev, cursor, output);
        true
    })
    .await;
    match (error_event, read) {
        (Some(data), _) => {
            let v: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
            let code = v.get("code").and_then(|c| c.as_str()).unwrap_or("WATCH_ENDED");
            let message = v.get("message").and_then(|c| c.as_str()).unwrap_or(&data).to_string();
            match code {
                "LAGGED" => Ended::Dropped("this watcher fell behind".into()),
                _ => Ended::Fatal(ClientError::Api {
                    status: 410,
                    code: ErrorCode::parse(code),
                    message,
                }),
            }
        }
        (None, Ok(())) => Ended::Dropped("the node closed it".into()),
        (None, Err(_)) => Ended::Dropped("the connection broke".into()),
    }
}

/// Prints `ev` unless it was printed before a reconnect.
fn print_event(ev: &SseEvent, cursor: &mut Cursor, output: Output) {
    let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap_or_default();
    let version = v.get("version").and_then(|x| x.as_u64()).unwrap_or(0);
    if !cursor.admit(version) {
        return;
    }
    match output {
        Output::Json => println!("{}", ev.data),
        Output::Text => {
            let field = |k: &str| {
                v.get(k)
                    .map(|x| x.as_str().map_or(x.to_string(), String::from))
                    .unwrap_or_default()
            };
            let text = v.get("value").and_then(|x| x.as_str()).map(String::from);
            let b64 = v.get("value_base64").and_then(|x| x.as_str());
            let value = match (text, b64) {
                (None, None) => String::new(),
                (text, b64) => crate::types::value_from_fields(text, b64)
                    .map(|bytes| format!(" {}", escape_bytes(&bytes)))
                    .unwrap_or_default(),
            };
            let key = v.get("key").and_then(|x| x.as_str()).map(String::from);
            let key_b64 = v.get("key_base64").and_then(|x| x.as_str());
            let key = crate::types::key_from_fields(key, key_b64).unwrap_or_default();
            println!("{version} {} {}{value}", field("kind"), escape_bytes(&key));
        }
    }
}

/// The error when no member took the watch back: the last version and how to resume.
fn gave_up(prefix: &[u8], cursor: &Cursor, patience: Duration, cause: ClientError) -> ClientError {
    let resume = match cursor.version() {
        Some(v) => format!(
            "the last version printed is {v}; resume with `dcache watch {:?} --from-version {}` \
             (events of version {v} already printed come again)",
            crate::cache::show_key(prefix),
            v.saturating_sub(1)
        ),
        None => match cursor.start {
            Some(s) => format!(
                "nothing was printed; resume with `dcache watch {:?} --from-version {s}`",
                crate::cache::show_key(prefix)
            ),
            None => "nothing was printed".to_string(),
        },
    };
    ClientError::WatchLost {
        detail: format!(
            "no member took the watch back within {} ({cause}); {resume}",
            humantime::format_duration(patience)
        ),
        last: Box::new(cause),
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_resumed_watch_skips_what_it_printed_and_nothing_else() {
        let mut c = Cursor::new(Some(4));
        assert_eq!(c.resume(), Some(4));
        // Version 5 (one event), then two of the three events of version 7.
        assert!(c.admit(5) && c.admit(7) && c.admit(7));
        // Dropped: resume after 6 and skip the two events of 7 already printed.
        assert_eq!(c.resume(), Some(6));
        assert!(!c.admit(7) && !c.admit(7));
        assert!(c.admit(7), "the third event of version 7 is new");
        assert!(c.admit(9));
        assert_eq!(c.resume(), Some(8));
        assert!(!c.admit(9));
        assert!(c.admit(10));
    }

    #[test]
    fn a_watch_dropped_before_any_event_resumes_where_it_started() {
        let mut c = Cursor::new(Some(12));
        assert_eq!(c.resume(), Some(12));
        assert_eq!(c.resume(), Some(12));
        assert!(c.admit(13));
    }
}
