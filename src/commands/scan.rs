//! `dcache scan PREFIX` and `dcache get --prefix PREFIX`: list the keys under a prefix page
//! by page (`after=` the last key of the page before), printing each page as it arrives, up
//! to `--limit` keys in all or every key with `--all`.

use std::io::Write;

use crate::cli::{ClientOpts, Output};
use crate::client::{ClientError, Endpoints, Retry};
use crate::commands::kv::{endpoints, escape, escape_bytes};
use crate::types::{Consistency, KeyValue};

/// Most keys one page asks for (the server's largest `limit`).
const PAGE: u64 = 10_000;

/// What to list and how to print it.
pub struct Listing<'a> {
    pub prefix: &'a str,
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
    pub next: Option<String>,
}

/// Lists `what`, printing as text (`KEY<TAB>VALUE` or `KEY`, escaped) or as one JSON object
/// written as it goes (`{"prefix","keys":[...],"count","truncated","next"?}`).
pub async fn run(opts: &ClientOpts, what: &Listing<'_>) -> Result<(), ClientError> {
    let members = endpoints(opts)?;
    let mut out = std::io::stdout().lock();
    let json = opts.output == Output::Json;
    if json {
        let _ = writeln!(out, "{{\"prefix\":{},\"keys\":[", json_str(what.prefix));
    }
    let mut first = true;
    let listed = each_page(&members, what, |keys| {
        for kv in keys {
            let _ = match (json, what.keys_only) {
                (false, false) => writeln!(out, "{}\t{}", escape(&kv.key), escape_bytes(&kv.value_bytes())),
                (false, true) => writeln!(out, "{}", escape(&kv.key)),
                (true, keys_only) => {
                    let item = match keys_only {
                        true => json_str(&kv.key),
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
            .map_or(String::new(), |n| format!(",\"next\":{}", json_str(n)));
        let _ = writeln!(
            out,
            "],\"count\":{},\"truncated\":{}{next}}}",
            listed.count,
            listed.next.is_some()
        );
    } else if listed.next.is_some() {
        eprintln!(
            "(more keys match {:?}; raise --limit or use --all to list them)",
            what.prefix
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
    let mut after: Option<String> = None;
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
        let next = page.next.or_else(|| page.keys.last().map(|kv| kv.key.clone()));
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
