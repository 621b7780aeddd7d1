//! The single-pass scanner against the reference reader: the same values,
//! spans and refusals on odd inputs and on thousands of mutated bodies;
//! and the parse stage's check standing in for the full one.

use super::reference;
use super::*;

const SKIPS: [&[&str]; 3] = [&[], &["model"], &["id", "model", "object"]];

fn agree(body: &[u8]) {
    for skip in SKIPS {
        let expected = reference::string_values(body, skip);
        let got = string_values(body, skip);
        assert_eq!(
            got,
            expected,
            "{:?} skipping {skip:?}",
            String::from_utf8_lossy(body)
        );
    }
    // Where the parse stage accepts the body, its check stands in for the
    // full one.
    if let Ok(call) = crate::stages::parse::parse(modelgate_types::Operation::ChatCompletions, body)
    {
        let got = CheckedJson::parsed(body, &call).and_then(|json| json.string_values(&["model"]));
        assert_eq!(got, reference::string_values(body, &["model"]));
    }
}

const ODD: &[&str] = &[
    r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
    r#"  {"model" : "m" , "messages" : [ { "content" : "a\"b\\c\/d\u00e9\ud83d\ude00" } ] }  "#,
    r#"{"mod\u0065l":"skipped by its decoded key","x":"kept"}"#,
    r#"{"model":{"deep":[["a","b"],{"c":"d"}]},"messages":["after"]}"#,
    r#"{"model":"a","model":"b","messages":["dup"]}"#,
    r#"{"messages":[[[["nested"]]],[],{},"",0,-1.5e10,true,false,null]}"#,
    r#"{"a":"lone \ud800 surrogate"}"#,
    r#"{"model":"lone \ud800 surrogate in a skipped value"}"#,
    r#"{"k\ud800":"lone surrogate in a key"}"#,
    r#"{"nested":{"k\ud800":"lone surrogate in a nested key"}}"#,
    r#"{"model":{"k\ud800":"in a skipped subtree"}}"#,
    r#"{"a":"bad \x escape"}"#,
    "{\"a\":\"raw\ttab\"}",
    "{\"model\":\"raw\ttab in a skipped value\"}",
    "{\"k\ty\":1}",
    "{\"a\":\"raw \u{1} control\"}",
    "{\"a\":[\"raw\nnewline\"],\"b\":\"\u{1f}\"}",
    "{\"model\":\"m\",\"messages\":[{\"content\":\"raw \u{7f} delete is allowed\"}]}",
    r#"{"big":1e400,"n":-0,"x":"y"}"#,
    r#""a root string""#,
    r#"["root", "array", {"model":"not top level"}]"#,
    r#"42"#,
    r#"{}"#,
    r#"[]"#,
    r#"{"a":"trailing"} x"#,
    r#"{"a":"unterminated}"#,
    r#"{"a":[1,2}"#,
    r#"{"a" "b"}"#,
    r#"{"model":"m","messages":[],}"#,
    "",
    " ",
    "{\"\u{e9}t\u{e9}\":\"\u{1F600} caf\u{e9}\"}",
];

#[test]
fn odd_inputs_agree_with_the_reference() {
    for body in ODD {
        agree(body.as_bytes());
    }
    agree(b"{\"a\":\"\xff\"}");
    agree(b"{\"model\":\"\xff\",\"messages\":[]}");
    agree(b"{\"model\":\"m\",\"messages\":[],\"x\":\"\xc3\"}");
}

#[test]
fn nesting_limits_agree_with_the_reference() {
    for depth in [0, 1, 63, 64, 65, 66, 100, 127, 128, 129, 200] {
        let open = "[".repeat(depth);
        let close = "]".repeat(depth);
        agree(format!("{open}1{close}").as_bytes());
        agree(format!("{open}{close}").as_bytes());
        agree(format!("{open}\"s\"{close}").as_bytes());
        agree(format!(r#"{{"messages":{open}"s"{close}}}"#).as_bytes());
        agree(format!(r#"{{"model":{open}"s"{close},"messages":[]}}"#).as_bytes());
        let objects = r#"{"k":"#.repeat(depth) + "\"v\"" + &"}".repeat(depth);
        agree(objects.as_bytes());
    }
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_bodies_agree_with_the_reference() {
    const PIECES: &[&[u8]] = &[
        b"\"",
        b"\\",
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b",",
        b" ",
        b"\\u",
        b"\\ud800",
        b"\\n",
        b"1",
        b"-",
        b"e",
        b"null",
        b"true",
        b"\"model\"",
        b"\t",
        b"\xff",
        b"\xc3\xa9",
        b"a",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for round in 0..4000 {
        let mut body = ODD[round % 6].as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(body.len() + 1);
            match rng.below(3) {
                0 if at < body.len() => {
                    body.remove(at);
                }
                1 if at < body.len() => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    body.splice(at..(at + 1).min(body.len()), piece.iter().copied());
                }
                _ => {
                    let piece = PIECES[rng.below(PIECES.len())];
                    body.splice(at..at, piece.iter().copied());
                }
            }
        }
        agree(&body);
        accepted += usize::from(reference::string_values(&body, &[]).is_ok());
    }
    // Both sides of the line are exercised.
    assert!(
        (400..3600).contains(&accepted),
        "{accepted} of 4000 accepted"
    );
}
