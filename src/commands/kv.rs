//! `dcache get/set/delete/scan`: one request each, printed as text or JSON.

use crate::cli::{ClientOpts, Output};
use crate::client::{to_json, Client, ClientError};
use crate::types::Consistency;

fn client(opts: &ClientOpts) -> Result<Client, ClientError> {
    Client::new(&opts.server, opts.timeout)
}

/// `dcache set KEY VALUE`.
pub async fn set(opts: &ClientOpts, key: &str, value: &str) -> Result<(), ClientError> {
    let res = client(opts)?.set(key, value).await?;
    match opts.output {
        Output::Text => println!("OK"),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache get KEY`; a missing key is an error (exit code 3).
pub async fn get(opts: &ClientOpts, key: &str, consistency: Consistency) -> Result<(), ClientError> {
    let res = client(opts)?.get(key, consistency).await?;
    match opts.output {
        Output::Text => println!("{}", res.value),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache delete KEY`; deleting a missing key succeeds and says so.
pub async fn delete(opts: &ClientOpts, key: &str) -> Result<(), ClientError> {
    let res = client(opts)?.delete(key).await?;
    match opts.output {
        Output::Text => println!("{}", if res.deleted { "deleted" } else { "not found" }),
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}

/// `dcache scan PREFIX`: `KEY<TAB>VALUE` per line in key order.
pub async fn scan(opts: &ClientOpts, prefix: &str, limit: u32, consistency: Consistency) -> Result<(), ClientError> {
    let res = client(opts)?.scan(prefix, limit, consistency).await?;
    match opts.output {
        Output::Text => {
            for kv in &res.keys {
                println!("{}\t{}", kv.key, kv.value);
            }
            if res.truncated {
                eprintln!("(more keys match {prefix:?}; raise --limit to see them)");
            }
        }
        Output::Json => println!("{}", to_json(&res)),
    }
    Ok(())
}
