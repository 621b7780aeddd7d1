//! [`RecordedRequest`]: what the mock saw of each non-control request.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One request received by the mock (control requests under `/_mock/` are
/// not recorded).
///
/// Serialized as `{"method", "path", "headers": [[name, value], ...],
/// "body": "<lossy UTF-8 string>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path including the query string, e.g. `/v1/chat/completions`.
    pub path: String,
    /// All request headers in received order; names are lowercase, values
    /// are converted to UTF-8 lossily.
    pub headers: Vec<(String, String)>,
    /// The full request body.
    #[serde(serialize_with = "ser_lossy", deserialize_with = "de_string_bytes")]
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// Build a record from request parts and the collected body.
    pub(crate) fn from_parts(parts: &http::request::Parts, body: &[u8]) -> Self {
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Self {
            method: parts.method.as_str().to_owned(),
            path,
            headers,
            body: body.to_vec(),
        }
    }

    /// The first value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name` (case-insensitive), in received order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, or `None` when it is not valid JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

fn ser_lossy<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

fn de_string_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    String::deserialize(d).map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_body_as_lossy_string() {
        let r = RecordedRequest {
            method: "POST".into(),
            path: "/v1/x?a=1".into(),
            headers: vec![("x-api-key".into(), "k".into())],
            body: b"{\"a\":1}\xff".to_vec(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["body"], "{\"a\":1}\u{fffd}");
        assert_eq!(v["headers"][0][0], "x-api-key");
        assert_eq!(r.header("X-API-KEY"), Some("k"));
        let back: RecordedRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back.path, "/v1/x?a=1");
    }
}
