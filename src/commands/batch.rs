//! `dcache txn` (alias `batch`): operations read one per line from a file or standard input,
//! sent as one `POST /api/v1/batch` (all or nothing, at one version); and `dcache delete
//! --prefix`, which lists the keys under a prefix and deletes them in atomic batches.
//!
//! A line is `set KEY VALUE [ttl=DURATION] [if-version=N]`, `delete KEY [if-version=N]`, or a
//! JSON object as in the API (`{"op":"set","key":"k","value":"v"}`). KEY and VALUE are bare
//! words, or JSON strings in double quotes for spaces and escapes (`"a b"`, `"line\n"`).
//! Blank lines and lines starting with `#` are skipped.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use crate::cache::show_key;
use crate::cli::{ClientOpts, Output};
use crate::client::{to_json, Retry};
use crate::commands::kv::{endpoints, escape_bytes};
use crate::commands::scan::{each_page, Listing};
use crate::commands::CommandError;
use crate::types::{BatchOp, Consistency, KeyValue};

/// Most operations in one batch (the server's bound).
const MAX_OPS: usize = 1000;

/// `dcache txn [FILE]`: reads the operations from FILE (`-` or none: standard input).
pub async fn txn(opts: &ClientOpts, file: Option<&Path>) -> Result<(), CommandError> {
    let text = read_input(file)?;
    let ops = parse_ops(&text).map_err(CommandError::Usage)?;
    if ops.is_empty() {
        return Err(CommandError::Usage(
            "no operations given; write one per line, e.g. `set k v`".into(),
        ));
    }
    if ops.len() > MAX_OPS {
        return Err(CommandError::Usage(format!(
            "{} operations given; one batch holds at most {MAX_OPS}",
            ops.len()
        )));
    }
    let ops = &ops;
    let res = endpoints(opts)?
        .call(Retry::Write, |c| async move { c.batch(ops).await })
        .await?;
    match opts.output {
        Output::Json => println!("{}", to_json(&res)),
        Output::Text => {
            for r in &res.results {
                match (r.version, r.deleted) {
                    (_, Some(true)) => println!("deleted {}", escape_bytes(&r.key_bytes())),
                    (_, Some(false)) => println!("not found {}", escape_bytes(&r.key_bytes())),
                    (v, None) => println!("set {} {}", escape_bytes(&r.key_bytes()), v.unwrap_or(res.version)),
                }
            }
            println!("OK (version {})", res.version);
        }
    }
    Ok(())
}

fn read_input(file: Option<&Path>) -> Result<String, CommandError> {
    match file {
        Some(path) if path != Path::new("-") => std::fs::read_to_string(path)
            .map_err(|e| CommandError::Failed(format!("cannot read operations from {}: {e}", path.display()))),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CommandError::Failed(format!("cannot read operations from standard input: {e}")))?;
            Ok(text)
        }
    }
}

/// The operations of `text`, one per line; the error names the line and what is wrong.
pub fn parse_ops(text: &str) -> Result<Vec<BatchOp>, String> {
    let mut ops = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        ops.push(parse_line(line).map_err(|e| format!("line {}: {e}: `{line}`", n + 1))?);
    }
    Ok(ops)
}

fn parse_line(line: &str) -> Result<BatchOp, String> {
    if line.starts_with('{') {
        return serde_json::from_str(line).map_err(|e| format!("not a batch operation ({e})"));
    }
    let words = split_words(line)?;
    let mut ttl_ms = None;
    let mut if_version = None;
    let mut plain = Vec::new();
    for w in words {
        if let Some(v) = w.bare.then(|| w.text.strip_prefix("ttl=")).flatten() {
            let d = humantime::parse_duration(v).map_err(|e| format!("ttl `{v}` is not a duration ({e})"))?;
            if d.as_millis() == 0 {
                return Err("a ttl must be at least 1ms".into());
            }
            ttl_ms = Some(d.as_millis() as u64);
        } else if let Some(v) = w.bare.then(|| w.text.strip_prefix("if-version=")).flatten() {
            if_version = Some(v.parse().map_err(|_| format!("if-version `{v}` is not a number"))?);
        } else {
            plain.push(w.text);
        }
    }
    match plain.as_slice() {
        [op, key, value] if op == "set" => Ok(BatchOp::set(key.as_bytes(), value.as_bytes(), ttl_ms, if_version)),
        [op, key] if op == "delete" || op == "del" => {
            if ttl_ms.is_some() {
                return Err("a delete takes no ttl".into());
            }
            Ok(BatchOp::delete(key.as_bytes(), if_version))
        }
        [op, ..] if op == "set" => Err("use `set KEY VALUE [ttl=D] [if-version=N]`".into()),
        [op, ..] if op == "delete" || op == "del" => Err("use `delete KEY [if-version=N]`".into()),
        _ => Err("an operation is `set KEY VALUE` or `delete KEY` (or a JSON object)".into()),
    }
}

/// One word of a line: its text, and whether it was bare (not quoted).
struct Word {
    text: String,
    bare: bool,
}

/// Splits on whitespace; a word starting with `"` is a JSON string.
fn split_words(line: &str) -> Result<Vec<Word>, String> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let text = match stream.next() {
                Some(Ok(s)) => s,
                _ => return Err("unterminated or invalid quoted string".into()),
            };
            rest = &rest[stream.byte_offset()..];
            if rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
                return Err("a quoted string must be followed by a space".into());
            }
            words.push(Word { text, bare: false });
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            words.push(Word {
                text: rest[..end].to_string(),
                bare: true,
            });
            rest = &rest[end..];
        }
        rest = rest.trim_start();
    }
    Ok(words)
}

/// `dcache delete PREFIX --prefix [--yes]`: lists the keys under PREFIX, asks for
/// confirmation on a terminal (refuses without --yes elsewhere), then deletes them in
/// batches of 1000, each atomic. Keys written under PREFIX after the listing are kept.
pub async fn delete_prefix(opts: &ClientOpts, prefix: &[u8], yes: bool) -> Result<(), CommandError> {
    let members = endpoints(opts)?;
    let listing = Listing {
        prefix,
        limit: None,
        consistency: Consistency::Linearizable,
        keys_only: true,
    };
    let mut keys = Vec::new();
    each_page(&members, &listing, |page| {
        keys.extend(page.iter().map(KeyValue::key_bytes))
    })
    .await?;
    if keys.is_empty() {
        println!("no keys match {:?}; nothing deleted", show_key(prefix));
        return Ok(());
    }
    if !yes {
        confirm(&format!("delete {} keys under {:?}?", keys.len(), show_key(prefix)))?;
    }
    let terminal = std::io::stderr().is_terminal();
    let mut deleted = 0usize;
    for chunk in keys.chunks(MAX_OPS) {
        let ops: Vec<BatchOp> = chunk.iter().map(|k| BatchOp::delete(k, None)).collect();
        let ops = &ops;
        let res = members
            .call(Retry::Write, |c| async move { c.batch(ops).await })
            .await
            .map_err(|e| {
                CommandError::Failed(format!(
                    "{e}; {deleted} of {} keys were deleted before this",
                    keys.len()
                ))
            })?;
        deleted += res.results.iter().filter(|r| r.deleted == Some(true)).count();
        if terminal {
            eprint!("\rdeleting: {deleted}/{} keys", keys.len());
        }
    }
    if terminal {
        eprintln!();
    }
    match opts.output {
        Output::Json => println!(
            "{}",
            to_json(
                &serde_json::json!({ "prefix": String::from_utf8_lossy(prefix), "deleted": deleted, "listed": keys.len() })
            )
        ),
        Output::Text => println!("deleted {deleted} keys under {:?}", show_key(prefix)),
    }
    Ok(())
}

/// Asks `question` on the terminal; refuses (usage error) when there is no terminal to ask.
fn confirm(question: &str) -> Result<(), CommandError> {
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::Usage(format!(
            "{question} Not asked: standard input is not a terminal; add --yes to confirm"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    match answer.trim() {
        "y" | "Y" | "yes" => Ok(()),
        _ => Err(CommandError::Failed("not confirmed; nothing deleted".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ops;
    use crate::types::BatchOp;

    #[test]
    fn lines_become_batch_operations() {
        let ops = parse_ops(
            "# seed\nset a 1\nset \"b c\" \"x\\ty\" ttl=30s if-version=0\n\ndelete d if-version=4\n{\"op\":\"delete\",\"key\":\"e\"}\n",
        )
        .unwrap();
        assert_eq!(ops.len(), 4);
        match &ops[1] {
            BatchOp::Set {
                key: Some(key),
                key_base64: None,
                value: Some(value),
                value_base64: None,
                ttl_ms,
                if_version,
            } => {
                assert_eq!((key.as_str(), value.as_str()), ("b c", "x\ty"));
                assert_eq!((*ttl_ms, *if_version), (Some(30_000), Some(0)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&ops[2], BatchOp::Delete { key: Some(key), if_version: Some(4), .. } if key == "d"));
    }

    #[test]
    fn bad_lines_are_named_with_what_is_wrong() {
        let err = parse_ops("set a 1\nset b\n").unwrap_err();
        assert!(err.starts_with("line 2:") && err.contains("set KEY VALUE"), "{err}");
        assert!(parse_ops("put a 1").unwrap_err().contains("line 1"));
        assert!(parse_ops("set a 1 ttl=0s").unwrap_err().contains("at least 1ms"));
        assert!(parse_ops("set \"a 1").unwrap_err().contains("quoted"));
        assert!(parse_ops("delete a ttl=1s").unwrap_err().contains("no ttl"));
    }
}
