//! `dcache scan PREFIX` and `dcache get --prefix PREFIX`: list the keys under a prefix page
//! by page (`after=` the last key of the page before), printing each page as it arrives, up
//! to `--limit` keys in all or every key with `--all`.

use std::io::Write;

use crate::cli::{ClientOpts, Output};
use crate::client::{ClientError, Endpoints, Retry};
use crate::commands::kv::{endpoints, escape_bytes};
use crate::types::{Consistency, KeyValue};

/// Most keys one page asks for (the server's largest `limit`).
const PAGE: u64 = 10_000;

/// What to list and how to print it.
pub struct Listing<'a> {
    pub prefix: &'a [u8],
    /// Most keys in all; `None` lists every key.
    pub limit: Option<u64>,
    pub consistency: Consistency,
    /// Print keys only (`get --prefix --keys-only`).
    pub keys_only: bool,
}

/// Where a listing stopped.
pub struct Listed {
    /// Keys printed.
    pub count: u64,
    /// The last key printed when more keys matched than the limit allowed.
    pub next: Option<Vec<u8>>,
}

/// Lists `what`, printing as text (`KEY<TAB>VALUE` or `KEY`, escaped) or as one JSON object
/// written as it goes (`{"prefix","keys":[...],"count","truncated","next"?}`).
pub async fn run(opts: &ClientOpts, what: &Listing<'_>) -> Result<(), ClientError> {
    let members = endpoints(opts)?;
    let mut out = std::io::stdout().lock();
    let json = opts.output == Output::Json;
    if json {
        let _ = writeln!(out, "{{{},\"keys\":[", json_key("prefix", what.prefix));
    }
    let mut first = true;
    let listed = each_page(&members, what, |keys| {
        for kv in keys {
            let _ = match (json, what.keys_only) {
                (false, false) => writeln!(
                    out,
                    "{}\t{}",
                    escape_bytes(&kv.key_bytes()),
                    escape_bytes(&kv.value_bytes())
                ),
                (false, true) => writeln!(out, "{}", escape_bytes(&kv.key_bytes())),
                (true, keys_only) => {
                    let item = match keys_only {
                        // A key that is not UTF-8 is listed as {"key_base64": "..."}.
                        true => match &kv.key {
                            Some(key) => json_str(key),
                            None => format!("{{{}}}", json_key("key", &kv.key_bytes())),
                        },
                        false => serde_json::to_string(kv).unwrap_or_default(),
                    };
                    let sep = if first { "" } else { "," };
                    first = false;
                    writeln!(out, "{sep}{item}")
                }
            };
        }
        let _ = out.flush();
    })
    .await?;
    if json {
        let next = listed
            .next
            .as_deref()
            .map_or(String::new(), |n| format!(",{}", json_key("next", n)));
        let _ = writeln!(
            out,
            "],\"count\":{},\"truncated\":{}{next}}}",
            listed.count,
            listed.next.is_some()
        );
    } else if listed.next.is_some() {
        eprintln!(
            "(more keys match {:?}; raise --limit or use --all to list them)",
            crate::cache::show_key(what.prefix)
        );
    }
    Ok(())
}

/// Asks for the pages of `what` in turn (each from the first member that can answer),
/// handing each page's keys to `on_page` before asking for the next.
pub async fn each_page(
    members: &Endpoints,
    what: &Listing<'_>,
    mut on_page: impl FnMut(&[KeyValue]),
) -> Result<Listed, ClientError> {
    let (prefix, consistency) = (what.prefix, what.consistency);
    let mut count = 0u64;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let want = what.limit.map_or(PAGE, |l| (l - count).min(PAGE)) as u32;
        let from = after.as_deref();
        let page = members
            .call(
                Retry::Read,
                |c| async move { c.scan(prefix, from, want, consistency).await },
            )
            .await?;
        on_page(&page.keys);
        count += page.keys.len() as u64;
        let next = page.next_bytes().or_else(|| page.keys.last().map(KeyValue::key_bytes));
        match (page.truncated, next) {
            (true, Some(next)) if what.limit.is_none_or(|l| count < l) => after = Some(next),
            (true, next) => return Ok(Listed { count, next }),
            (false, _) => return Ok(Listed { count, next: None }),
        }
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `"name":"text"` for UTF-8 bytes, else `"name_base64":"..."`, as the API writes them.
fn json_key(name: &str, bytes: &[u8]) -> String {
    match crate::types::key_fields(bytes) {
        (Some(text), _) => format!("\"{name}\":{}", json_str(&text)),
        (_, b64) => format!("\"{name}_base64\":{}", json_str(&b64.unwrap_or_default())),
    }
}
