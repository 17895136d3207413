//! Bytes from the URL: keys in paths and the byte-valued query parameters (`prefix`,
//! `after`), percent-decoded to octets as RFC 3986 says, so `%FF` is the byte 0xFF. Every
//! other query name and value must be UTF-8 once decoded. Owns nothing else of the request.

use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Query parameters whose values are bytes (key prefixes and keys), not text.
const BYTE_PARAMS: [&str; 2] = ["prefix", "after"];

/// Decodes one `application/x-www-form-urlencoded` piece to bytes: `+` is a space and
/// `%XX` an octet (a `%` not followed by two hex digits stays as it is), as serde's query
/// parsing reads it, without its lossy UTF-8 step.
fn form_decode(piece: &str) -> Vec<u8> {
    let spaced = piece.replace('+', " ");
    percent_encoding::percent_decode(spaced.as_bytes()).collect()
}

/// The bytes of query parameter `name` (one of [`BYTE_PARAMS`]) in `query`, if present.
/// A repeated name is refused by the typed query extractor that runs alongside.
pub(super) fn query_bytes(query: Option<&str>, name: &str) -> Option<Vec<u8>> {
    query?.split('&').find_map(|pair| {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(n) == name.as_bytes()).then(|| form_decode(v))
    })
}

/// The key a route `{route}{*key}` addresses: the rest of the path, percent-decoded to bytes.
pub(super) fn path_key(uri: &axum::http::Uri, route: &str) -> Vec<u8> {
    let rest = uri.path().strip_prefix(route).unwrap_or_default();
    percent_encoding::percent_decode(rest.as_bytes()).collect()
}

/// Refuses (400) a query string with a name that is not UTF-8 once percent-decoded (`%FF`),
/// or such a value of a text parameter: replacing the bytes would silently turn one value
/// into another. Values of [`BYTE_PARAMS`] may be any bytes.
pub(super) async fn refuse_non_utf8_query(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some(query) = req.uri().query() {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded_name = form_decode(name);
            let Ok(text_name) = std::str::from_utf8(&decoded_name) else {
                return not_utf8(name);
            };
            if !BYTE_PARAMS.contains(&text_name) && std::str::from_utf8(&form_decode(value)).is_err() {
                return not_utf8(value);
            }
        }
    }
    next.run(req).await
}

fn not_utf8(piece: &str) -> Response {
    ApiError::invalid(format!("bad query string: `{piece}` is not UTF-8 once percent-decoded")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_and_paths_decode_to_octets() {
        let q = Some("limit=5&prefix=%FF%00a+b&after=x%2By");
        assert_eq!(query_bytes(q, "prefix"), Some(vec![0xff, 0, b'a', b' ', b'b']));
        assert_eq!(query_bytes(q, "after"), Some(b"x+y".to_vec()));
        assert_eq!(query_bytes(q, "missing"), None);
        assert_eq!(query_bytes(Some("prefix"), "prefix"), Some(Vec::new()));
        let uri: axum::http::Uri = "/api/v1/get/%FF%2Fk/x%zz?consistency=lease".parse().unwrap();
        assert_eq!(path_key(&uri, "/api/v1/get/"), b"\xff/k/x%zz".to_vec());
    }
}
