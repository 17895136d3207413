//! Where the node listens and how others reach it: client and peer URLs, the founding
//! members (`initial-cluster`), whether it founds or joins, and the URL helpers other modules
//! share (`base_url`, `check_name`). TLS follows the schemes, but is `security`'s to check.

use std::net::{SocketAddr, ToSocketAddrs};

use super::{pick, ClusterState, ConfigError, Sources, DEFAULT_CLIENT_URL, DEFAULT_PEER_URL, DEFAULT_RESP_URL};

/// The checked URL section, plus what `security` needs to match TLS settings to schemes.
pub(super) struct Urls {
    pub(super) listen_client: SocketAddr,
    /// As given (before normalizing), for messages.
    pub(super) listen_client_url: String,
    pub(super) advertise_client_url: String,
    /// Whether `advertise-client-urls` came from a flag.
    pub(super) advertise_client_from_flag: bool,
    pub(super) listen_peer: SocketAddr,
    /// As given (before normalizing), for messages.
    pub(super) listen_peer_url: String,
    /// Whether `listen-peer-urls` came from a flag.
    pub(super) listen_peer_from_flag: bool,
    pub(super) advertise_peer_url: String,
    pub(super) listen_resp: Option<SocketAddr>,
    /// As given, for messages.
    pub(super) listen_resp_url: String,
    /// TLS on the RESP listener (`rediss://`).
    pub(super) resp_tls: bool,
    pub(super) advertise_resp_url: String,
    pub(super) initial_cluster: Vec<(String, String)>,
    /// Whether `initial-cluster` came from a flag.
    pub(super) initial_cluster_from_flag: bool,
    pub(super) initial_cluster_state: ClusterState,
    pub(super) join: Option<String>,
}

/// Checks every URL key for the node called `name`: listeners resolve, the peer listener has
/// its own address, `initial-cluster` lists this node with the peer URL it advertises.
pub(super) fn load(src: &Sources<'_>, name: &str) -> Result<Urls, ConfigError> {
    let (args, file) = (src.args, src.file);
    let (listen, f) = pick(&args.listen_client_urls, &file.listen_client_urls);
    let listen_client_url = listen.unwrap_or_else(|| DEFAULT_CLIENT_URL.to_string());
    let listen_client = listen_addr(&listen_client_url).map_err(|m| src.invalid("listen-client-urls", f, m))?;

    let (adv, advertise_client_from_flag) = pick(&args.advertise_client_urls, &file.advertise_client_urls);
    let advertise_client_url = match adv {
        Some(u) => base_url(&u).map_err(|m| src.invalid("advertise-client-urls", advertise_client_from_flag, m))?,
        None => base_url(&listen_client_url).map_err(|m| src.invalid("listen-client-urls", f, m))?,
    };

    let (listen, listen_peer_from_flag) = pick(&args.listen_peer_urls, &file.listen_peer_urls);
    let listen_peer_url = listen.unwrap_or_else(|| DEFAULT_PEER_URL.to_string());
    let listen_peer =
        listen_addr(&listen_peer_url).map_err(|m| src.invalid("listen-peer-urls", listen_peer_from_flag, m))?;
    if listen_peer == listen_client {
        return Err(src.invalid(
            "listen-peer-urls",
            listen_peer_from_flag,
            format!("`{listen_peer_url}` is the same address as the client listener; give peers their own port"),
        ));
    }

    let (adv, f) = pick(&args.initial_advertise_peer_urls, &file.initial_advertise_peer_urls);
    let advertise_peer_url = match adv {
        Some(u) => base_url(&u).map_err(|m| src.invalid("initial-advertise-peer-urls", f, m))?,
        None => base_url(&listen_peer_url).map_err(|m| src.invalid("listen-peer-urls", listen_peer_from_flag, m))?,
    };

    let (listen, f) = pick(&args.listen_resp_urls, &file.listen_resp_urls);
    let listen_resp_url = listen.unwrap_or_else(|| DEFAULT_RESP_URL.to_string());
    let listen_resp = resp_addr(&listen_resp_url).map_err(|m| src.invalid("listen-resp-urls", f, m))?;
    if listen_resp.is_some_and(|a| a == listen_client || a == listen_peer) {
        return Err(src.invalid(
            "listen-resp-urls",
            f,
            format!("`{listen_resp_url}` is the address of another listener; give RESP its own port"),
        ));
    }
    let resp_tls = listen_resp.is_some() && is_rediss(&listen_resp_url);
    let (adv, af) = pick(&args.advertise_resp_urls, &file.advertise_resp_urls);
    let advertise_resp_url = match (listen_resp, adv) {
        (None, _) => String::new(),
        (Some(_), Some(u)) => {
            resp_hostport(&u).map_err(|m| src.invalid("advertise-resp-urls", af, m))?;
            if is_rediss(&u) != resp_tls {
                return Err(src.invalid(
                    "advertise-resp-urls",
                    af,
                    format!("`{u}` and listen-resp-urls `{listen_resp_url}` must both be rediss:// or both redis://"),
                ));
            }
            u.trim().trim_end_matches('/').to_string()
        }
        (Some(_), None) => listen_resp_url.trim().trim_end_matches('/').to_string(),
    };

    let (initial_cluster, initial_cluster_from_flag) = initial_cluster(src, name, &advertise_peer_url)?;
    let initial_cluster_state = cluster_state(src)?;
    let (join, f) = pick(&args.join, &file.join);
    let join = join
        .map(|u| base_url(&u))
        .transpose()
        .map_err(|m| src.invalid("join", f, m))?;
    Ok(Urls {
        listen_client,
        listen_client_url,
        advertise_client_url,
        advertise_client_from_flag,
        listen_peer,
        listen_peer_url,
        listen_peer_from_flag,
        advertise_peer_url,
        listen_resp,
        listen_resp_url,
        resp_tls,
        advertise_resp_url,
        initial_cluster,
        initial_cluster_from_flag,
        initial_cluster_state,
        join,
    })
}

/// The founding members (default: this node alone), which must list `name` at exactly
/// `advertise_peer_url`; also whether the value came from a flag.
fn initial_cluster(
    src: &Sources<'_>,
    name: &str,
    advertise_peer_url: &str,
) -> Result<(Vec<(String, String)>, bool), ConfigError> {
    let (ic, f) = pick(&src.args.initial_cluster, &src.file.initial_cluster);
    let initial_cluster = match ic {
        Some(s) => parse_initial_cluster(&s).map_err(|m| src.invalid("initial-cluster", f, m))?,
        None => vec![(name.to_string(), advertise_peer_url.to_string())],
    };
    match initial_cluster.iter().find(|(n, _)| *n == name) {
        None => {
            let members: Vec<&str> = initial_cluster.iter().map(|(n, _)| n.as_str()).collect();
            Err(src.invalid(
                "initial-cluster",
                f,
                format!(
                    "this node's name `{name}` is not listed (members: {}); add `{name}={advertise_peer_url}`",
                    members.join(", ")
                ),
            ))
        }
        Some((_, url)) if *url != advertise_peer_url => Err(src.invalid(
            "initial-cluster",
            f,
            format!("lists `{name}={url}` but this node advertises peer URL `{advertise_peer_url}`; make them match"),
        )),
        Some(_) => Ok((initial_cluster, f)),
    }
}

/// `new` (the default) or `existing`.
fn cluster_state(src: &Sources<'_>) -> Result<ClusterState, ConfigError> {
    let (state, f) = pick(&src.args.initial_cluster_state, &src.file.initial_cluster_state);
    match state.as_deref() {
        None | Some("new") => Ok(ClusterState::New),
        Some("existing") => Ok(ClusterState::Existing),
        Some(other) => Err(src.invalid(
            "initial-cluster-state",
            f,
            format!("`{other}` is not valid; use `new` or `existing`"),
        )),
    }
}

/// Checks a member name: not empty; letters, digits, `-`, `_` and `.` only. The error is
/// the rest of a sentence that starts with the setting's name.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(format!("`{name}` may only hold letters, digits, `-`, `_` and `.`"));
    }
    Ok(())
}

/// Parses and normalizes an `http://host:port` base URL (no path, no trailing slash).
pub(crate) fn base_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.contains(',') {
        return Err(format!("`{s}` lists several URLs; give exactly one"));
    }
    let url = url::Url::parse(s)
        .map_err(|e| format!("`{s}` is not a valid URL ({e}); expected e.g. http://127.0.0.1:8080"))?;
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(format!("`{s}` has scheme `{scheme}`; expected http:// or https://"));
    }
    let host = url.host_str().ok_or_else(|| format!("`{s}` has no host"))?;
    let port = url
        .port()
        .ok_or_else(|| format!("`{s}` has no port; expected e.g. http://127.0.0.1:8080"))?;
    if url.path() != "/" && !url.path().is_empty() {
        return Err(format!("`{s}` has a path; give only scheme, host and port"));
    }
    Ok(format!("{scheme}://{host}:{port}"))
}

/// The address a `redis://HOST:PORT` (or `rediss://`) listener URL resolves to; `None` for
/// an empty value (RESP disabled).
fn resp_addr(s: &str) -> Result<Option<SocketAddr>, String> {
    let Some(hostport) = resp_hostport(s)? else {
        return Ok(None);
    };
    hostport
        .to_socket_addrs()
        .map_err(|e| format!("`{}`: cannot resolve `{hostport}` ({e})", s.trim()))?
        .next()
        .map(Some)
        .ok_or_else(|| format!("`{}`: `{hostport}` resolves to no address", s.trim()))
}

/// The `HOST:PORT` of a RESP URL, checked for form only (an advertised name need not
/// resolve here); `None` for an empty value.
fn resp_hostport(s: &str) -> Result<Option<&str>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let Some(hostport) = s.strip_prefix("redis://").or_else(|| s.strip_prefix("rediss://")) else {
        return Err(format!(
            "`{s}` must be redis://HOST:PORT, rediss://HOST:PORT for TLS, or empty to disable the RESP listener"
        ));
    };
    let hostport = hostport.trim_end_matches('/');
    let port = hostport.rsplit_once(':').map(|(_, p)| p);
    if hostport.contains('/') || hostport.contains('@') || port.is_none_or(|p| p.parse::<u16>().is_err()) {
        return Err(format!(
            "`{s}`: expected redis://HOST:PORT with a port and no user, path or database"
        ));
    }
    Ok(Some(hostport))
}

fn is_rediss(s: &str) -> bool {
    s.trim().starts_with("rediss://")
}

fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    let base = base_url(s)?;
    let hostport = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest);
    hostport
        .to_socket_addrs()
        .map_err(|e| format!("`{s}`: cannot resolve `{hostport}` ({e})"))?
        .next()
        .ok_or_else(|| format!("`{s}`: `{hostport}` resolves to no address"))
}

/// Parses `name=url,...` into members sorted by name; names and URLs must be unique.
fn parse_initial_cluster(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut members = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, url) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}` is not `name=url`; expected e.g. node1=http://127.0.0.1:8081"))?;
        check_name(name.trim()).map_err(|m| format!("member name {m}"))?;
        let url = base_url(url)?;
        if members.iter().any(|(n, _)| n == name.trim()) {
            return Err(format!("member `{}` is listed twice", name.trim()));
        }
        if members.iter().any(|(_, u)| *u == url) {
            return Err(format!("peer URL `{url}` is listed twice"));
        }
        members.push((name.trim().to_string(), url));
    }
    if members.is_empty() {
        return Err("is empty; expected e.g. node1=http://127.0.0.1:8081".into());
    }
    members.sort();
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_cluster_is_sorted_and_checked() {
        let m = parse_initial_cluster("b=http://127.0.0.1:2, a=http://127.0.0.1:1").unwrap();
        assert_eq!(m[0].0, "a");
        assert!(parse_initial_cluster("a=http://127.0.0.1:1,a=http://127.0.0.1:2").is_err());
        assert!(parse_initial_cluster("a").is_err());
        assert!(parse_initial_cluster("").is_err());
    }

    #[test]
    fn base_url_normalizes_and_rejects() {
        assert_eq!(base_url("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert!(base_url("not a url").unwrap_err().contains("not a valid URL"));
        assert!(base_url("http://127.0.0.1").unwrap_err().contains("no port"));
        assert!(base_url("ftp://h:1").is_err());
    }
}
