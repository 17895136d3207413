//! `dcache get/set/delete/scan/ttl`: one request each (to the first of `--endpoints` that
//! can serve it), printed as text or JSON.

use std::io::Write as _;
use std::time::Duration;

use crate::cli::{ClientOpts, Output};
use crate::client::{to_json, ClientError, Endpoints, Retry};
use crate::commands::CommandError;
use crate::types::Consistency;

/// The members to talk to: `--endpoints`, or `--server`.
pub(super) fn endpoints(opts: &ClientOpts) -> Result<Endpoints, ClientError> {
    Endpoints::new(&opts.urls(), opts.timeout, &super::access(opts)?)
}

/// `dcache set KEY VALUE [--ttl D] [--if-version N | --if-absent]`.
pub async fn set(
    opts: &ClientOpts,
    key: &[u8],
    value: &[u8],
    ttl: Option<Duration>,
    if_version: Option<u64>,
) -> Result<(), ClientError> {
    let res = endpoints(opts)?
        .call(Retry::Write, |c| async move {
            c.set_with(key, value, ttl, if_version).await
        })
        .await?;
    match opts.output {
        Output::Text => println!("OK"),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// The value of `dcache set`: the argument, standard input for `-`, or the file's contents.
/// Any bytes (the HTTP API carries values that are not UTF-8 as base64).
pub fn value_from(arg: Option<String>, file: Option<&std::path::Path>) -> Result<Vec<u8>, CommandError> {
    use std::io::Read;
    let bytes = match (arg.as_deref(), file) {
        (_, Some(path)) => std::fs::read(path)
            .map_err(|e| CommandError::Failed(format!("cannot read the value from {}: {e}", path.display())))?,
        (Some("-"), None) => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| CommandError::Failed(format!("cannot read the value from standard input: {e}")))?;
            buf
        }
        (Some(v), None) => return Ok(v.as_bytes().to_vec()),
        (None, None) => {
            return Err(CommandError::Usage(
                "give a VALUE, `-` for standard input, or --file PATH".into(),
            ))
        }
    };
    Ok(bytes)
}

/// `dcache get KEY`; a missing key is an error (exit code 3).
pub async fn get(opts: &ClientOpts, key: &[u8], consistency: Consistency, keys_only: bool) -> Result<(), ClientError> {
    let res = endpoints(opts)?
        .call(Retry::Read, |c| async move { c.get(key, consistency).await })
        .await?;
    match opts.output {
        Output::Text if keys_only => println!("{}", escape_bytes(&res.key_bytes())),
        Output::Text => {
            // The exact bytes, as redis-cli --raw and etcdctl print them.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&res.value_bytes()).and_then(|()| out.write_all(b"\n"));
        }
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache expire KEY DURATION`: prints the key's new version.
pub async fn expire(opts: &ClientOpts, key: &[u8], ttl: Duration) -> Result<(), ClientError> {
    let res = endpoints(opts)?
        .call(Retry::Write, |c| async move { c.expire(key, ttl).await })
        .await?;
    match opts.output {
        Output::Text => println!("{}", res.version),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache persist KEY`: prints the key's new version.
pub async fn persist(opts: &ClientOpts, key: &[u8]) -> Result<(), ClientError> {
    let res = endpoints(opts)?
        .call(Retry::Write, |c| async move { c.persist(key).await })
        .await?;
    match opts.output {
        Output::Text => println!("{}", res.version),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache delete KEY`; deleting a missing key succeeds and says so.
pub async fn delete(opts: &ClientOpts, key: &[u8], if_version: Option<u64>) -> Result<(), ClientError> {
    let res = endpoints(opts)?
        .call(Retry::Write, |c| async move { c.delete(key, if_version).await })
        .await?;
    match opts.output {
        Output::Text => println!("{}", if res.deleted { "deleted" } else { "not found" }),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache ttl KEY`: the time left, or `none`.
pub async fn ttl(opts: &ClientOpts, key: &[u8], consistency: Consistency) -> Result<(), ClientError> {
    let res = endpoints(opts)?
        .call(Retry::Read, |c| async move { c.get(key, consistency).await })
        .await?;
    match opts.output {
        Output::Json => println!(
            "{}",
            to_json(&serde_json::json!({ "key": res.key, "key_base64": res.key_base64, "ttl_ms": res.ttl_ms }))
        ),
        Output::Text => match res.ttl_ms {
            Some(ms) => println!("{}", humantime::format_duration(Duration::from_millis(ms))),
            None => println!("none"),
        },
    }
    Ok(())
}

/// Text output of keys and values, one record per line: backslash, tab, newline, carriage
/// return and other control characters are escaped (`\\`, `\t`, `\n`, `\r`, `\xNN`), so a
/// key or value can never forge a field or a record. `-o json` gives the exact text.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    escape_text(s)
}

/// [`escape`] for any bytes: bytes that are not UTF-8 are written `\xNN`.
pub fn escape_bytes(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => escape_text(s),
        Err(_) => {
            let mut out = String::with_capacity(b.len() + 8);
            for chunk in b.utf8_chunks() {
                out.push_str(&escape_text(chunk.valid()));
                for byte in chunk.invalid() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            }
            std::borrow::Cow::Owned(out)
        }
    }
}

fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_output_escapes_separators_and_control_characters() {
        assert_eq!(escape("plain key"), "plain key");
        assert_eq!(escape("a\tb\nc\\d\re\u{1}"), "a\\tb\\nc\\\\d\\re\\x01");
    }
}
