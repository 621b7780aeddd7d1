//! OpenAI embeddings: deterministic vectors from a hash of each input, and
//! the base64 (little-endian `f32`) encoding the official SDKs request.

use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{MockBody, json_value};
use crate::openai::error;
use crate::state::RequestCtx;
use crate::text::count_words;
use crate::util::parse_json;

/// Model name echoed when neither the body nor the path names one.
pub const DEFAULT_EMBED_MODEL: &str = "demo-embed";

/// Largest accepted embedding dimension.
pub const MAX_DIMS: usize = 65_536;

#[derive(Deserialize, Default)]
#[serde(default)]
struct EmbeddingRequest {
    model: Option<String>,
    input: Value,
    encoding_format: Option<String>,
    dimensions: Option<usize>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

#[derive(Serialize)]
struct EmbedUsage {
    prompt_tokens: usize,
    total_tokens: usize,
}

#[derive(Serialize)]
struct EmbeddingList<'a> {
    object: &'static str,
    data: Vec<Embedding>,
    model: &'a str,
    usage: EmbedUsage,
}

/// One embedding input: text, or a token array.
#[derive(Debug, Clone, Copy)]
enum Input<'a> {
    Text(&'a str),
    Tokens(&'a [Value]),
}

fn inputs(input: &Value) -> Result<Vec<Input<'_>>, &'static str> {
    match input {
        Value::String(s) => Ok(vec![Input::Text(s)]),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_number) => {
            Ok(vec![Input::Tokens(items)])
        }
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(Input::Text(s)),
                Value::Array(tokens) => Ok(Input::Tokens(tokens)),
                _ => Err("'input' items must be strings or token arrays"),
            })
            .collect(),
        _ => Err("'input' must be a non-empty string or array"),
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn input_hash(input: Input<'_>) -> u64 {
    match input {
        Input::Text(s) => fnv1a(FNV_OFFSET, s.as_bytes()),
        Input::Tokens(tokens) => tokens.iter().fold(fnv1a(FNV_OFFSET, b"tokens"), |h, t| {
            let v = t.as_i64().unwrap_or_default();
            fnv1a(h, &v.to_le_bytes())
        }),
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic unit-length vector of `dims` components for `seed`.
pub fn vector(seed: u64, dims: usize) -> Vec<f32> {
    let mut state = seed;
    let mut v: Vec<f32> = (0..dims)
        .map(|_| {
            let bits = (splitmix64(&mut state) >> 40) as u32; // 24 random bits
            (bits as f32 / (1u32 << 23) as f32) - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// The deterministic embedding the mock returns for a text input of
/// `dims` dimensions (unit length, components in `[-1, 1]`).
pub fn embed_text(text: &str, dims: usize) -> Vec<f32> {
    vector(input_hash(Input::Text(text)), dims)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (with `=` padding).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Little-endian `f32` bytes of `v`, base64-encoded.
pub fn base64_f32(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64_encode(&bytes)
}

/// `POST /v1/embeddings` (and the Azure deployment path).
pub fn embeddings(
    ctx: &RequestCtx<'_>,
    body: &[u8],
    deployment: Option<&str>,
) -> Response<MockBody> {
    let req: EmbeddingRequest = match parse_json(body) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, &msg),
    };
    let items = match inputs(&req.input) {
        Ok(items) => items,
        Err(msg) => return error(StatusCode::BAD_REQUEST, msg),
    };
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            let msg = "'encoding_format' must be 'float' or 'base64'";
            return error(StatusCode::BAD_REQUEST, msg);
        }
    };
    let dims = req
        .dimensions
        .filter(|d| *d > 0)
        .unwrap_or_else(|| ctx.behavior.dims())
        .min(MAX_DIMS);
    let model = req
        .model
        .as_deref()
        .or(deployment)
        .unwrap_or(DEFAULT_EMBED_MODEL);
    let mut tokens = 0;
    let data = items
        .iter()
        .enumerate()
        .map(|(index, &item)| {
            tokens += match item {
                Input::Text(s) => count_words(s),
                Input::Tokens(t) => t.len(),
            };
            let v = vector(input_hash(item), dims);
            let embedding = if base64 {
                Vector::Base64(base64_f32(&v))
            } else {
                Vector::Floats(v)
            };
            Embedding {
                object: "embedding",
                index,
                embedding,
            }
        })
        .collect();
    let tokens = tokens.max(1);
    json_value(
        ctx.behavior.success_status(),
        &EmbeddingList {
            object: "list",
            data,
            model,
            usage: EmbedUsage {
                prompt_tokens: tokens,
                total_tokens: tokens,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_known_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(&[0xff, 0xfe, 0x00]), "//4A");
        assert_eq!(base64_f32(&[1.0]), "AACAPw==");
    }

    #[test]
    fn embeddings_are_deterministic_and_normalized() {
        let a = embed_text("hello", 8);
        assert_eq!(a, embed_text("hello", 8));
        assert_ne!(a, embed_text("hello!", 8));
        assert_eq!(a.len(), 8);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(a.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
        assert_eq!(embed_text("x", 1536).len(), 1536);
    }

    #[test]
    fn input_shapes() {
        assert_eq!(inputs(&json!("a")).unwrap().len(), 1);
        assert_eq!(inputs(&json!(["a", "b"])).unwrap().len(), 2);
        assert_eq!(inputs(&json!([1, 2, 3])).unwrap().len(), 1);
        assert_eq!(inputs(&json!([[1], [2, 3]])).unwrap().len(), 2);
        assert!(inputs(&json!(null)).is_err());
        assert!(inputs(&json!([])).is_err());
        assert!(inputs(&json!([{}])).is_err());
    }
}
