//! Benchmark inputs: clean English prose, clean source code, non-ASCII
//! prose, candidate-dense text and small chat prompts, generated to any
//! length from a seed.

use super::credentials;
use super::rng::{HEX, Rng};

/// Which kind of benchmark text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchText {
    /// English prose, no secrets.
    Prose,
    /// Rust, Python and JavaScript source, no secrets.
    Code,
    /// Prose with accents, Greek, Cyrillic and CJK.
    NonAscii,
    /// A keyword or candidate every ~100 bytes, some real secrets.
    Dense,
    /// A chat prompt: prose with a code snippet.
    Prompt,
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "system",
    "request",
    "model",
    "service",
    "team",
    "data",
    "design",
    "review",
    "should",
    "would",
    "because",
    "when",
    "which",
    "every",
    "latency",
    "cluster",
    "deploy",
    "release",
    "user",
    "question",
    "answer",
    "process",
    "within",
    "between",
    "several",
    "important",
    "different",
    "performance",
    "customer",
    "migration",
    "schedule",
    "document",
    "version",
    "feature",
    "support",
    "network",
    "storage",
    "pipeline",
    "quarter",
    "budget",
    "analysis",
    "report",
    "meeting",
    "we",
    "they",
    "it",
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "will",
    "can",
    "must",
    "not",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "from",
    "by",
    "about",
    "after",
    "before",
    "during",
    "each",
    "more",
    "less",
    "most",
    "first",
    "last",
    "next",
    "new",
    "old",
    "large",
    "small",
    "fast",
    "slow",
    "reliable",
    "simple",
    "careful",
    "gateway",
    "policy",
    "owner",
];

const CODE: &[&str] = &[
    "pub fn handle(&self, req: Request<Body>) -> Result<Response<Body>, Error> {\n    let route = self.router.find(req.uri().path()).ok_or(Error::NotFound)?;\n    let started = Instant::now();\n    let resp = route.call(req).await?;\n    self.metrics.observe(started.elapsed());\n    Ok(resp)\n}\n\n",
    "#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct Config {\n    pub listen: SocketAddr,\n    pub workers: usize,\n    pub timeout_ms: u64,\n    pub retries: u32,\n}\n\n",
    "for (i, item) in items.iter().enumerate() {\n    if item.weight > 0.75 && i % 16 == 0 {\n        buckets[i / 16].push(item.clone());\n    }\n}\n\n",
    "def summarize(rows, limit=100):\n    total = sum(r.amount for r in rows)\n    top = sorted(rows, key=lambda r: r.amount, reverse=True)[:limit]\n    return {\"total\": round(total, 2), \"top\": [r.id for r in top]}\n\n",
    "class Cache:\n    def __init__(self, size=1024):\n        self.size = size\n        self.items = OrderedDict()\n\n    def get(self, key):\n        if key in self.items:\n            self.items.move_to_end(key)\n        return self.items.get(key)\n\n",
    "export function debounce(fn, wait = 250) {\n  let timer = null;\n  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), wait);\n  };\n}\n\n",
    "const res = await fetch(`/api/v1/items?page=${page}&size=50`);\nif (!res.ok) throw new Error(`HTTP ${res.status}`);\nconst { items, total } = await res.json();\n\n",
    "fn parse_header(line: &str) -> Option<(&str, &str)> {\n    let (name, value) = line.split_once(':')?;\n    Some((name.trim(), value.trim()))\n}\n\n",
];

const NON_ASCII: &[&str] = &[
    "Le café de la gare propose une crème brûlée délicieuse et un thé à la menthe. ",
    "Die Straßenbahn fährt über die Brücke, während die Bürger im Café frühstücken. ",
    "東京の天気は晴れで、午後から会議があります。資料を確認してください。 ",
    "我们需要在下周之前完成系统的性能测试和安全审查。 ",
    "Η ομάδα θα παρουσιάσει τα αποτελέσματα της ανάλυσης την επόμενη εβδομάδα. ",
    "Команда обновила конфигурацию кластера и проверила журналы событий. ",
    "El niño comió piñas y jalapeños en la mañana soleada de otoño. ",
];

fn prose_sentence(rng: &mut Rng, out: &mut String) {
    let n = rng.range(8, 20);
    for i in 0..n {
        let w = *rng.pick(WORDS);
        if i == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                out.push(f.to_ascii_uppercase());
                out.push_str(c.as_str());
            }
        } else {
            out.push(' ');
            out.push_str(w);
        }
        if rng.chance(1, 40) {
            out.push_str(&format!(" {}", rng.range(2, 2030)));
        }
    }
    out.push_str(if rng.chance(1, 8) { "? " } else { ". " });
    if rng.chance(1, 6) {
        out.push_str("\n\n");
    }
}

fn dense_item(rng: &mut Rng, out: &mut String) {
    match rng.below(12) {
        0 => out.push_str(&format!("token: {} ", rng.string(HEX, 6))),
        1 => out.push_str(&format!("see https://docs.acme.io/{} ", rng.string(HEX, 8))),
        2 => out.push_str(&format!("ping ops-{}@acme-corp.io ", rng.range(1, 99))),
        3 => out.push_str(&format!("call +1 415 555 {:04} ", rng.below(10_000))),
        4 => out.push_str(&format!(
            "id {}-{} ",
            rng.string(HEX, 8),
            rng.string(HEX, 4)
        )),
        5 => out.push_str(&format!(
            "order {} of {} ",
            rng.range(1000, 99_999_999),
            rng.range(10, 999)
        )),
        6 => out.push_str("password=changeme "),
        7 => out.push_str(&format!(
            "host 10.{}.{}.{} ",
            rng.below(256),
            rng.below(256),
            rng.below(256)
        )),
        8 => {
            let kind = *rng.pick(&[
                "github_pat",
                "aws_access_key_id",
                "slack_bot_token",
                "openai_api_key",
                "jwt",
                "modelgate_api_key",
            ]);
            if let Some(s) = credentials::generate(kind, rng) {
                out.push_str(&format!("key {} ", s.text));
            }
        }
        9 => out.push_str(&format!("api_key = \"{}\" ", credentials::password(rng))),
        10 => out.push_str(&format!(
            "sk-{} eyJ{} ",
            rng.string(HEX, 4),
            rng.string(HEX, 6)
        )),
        _ => out.push_str(&format!(
            "v{}.{}.{} released {}-{:02}-{:02} ",
            rng.range(1, 9),
            rng.range(0, 20),
            rng.range(0, 9),
            rng.range(2019, 2025),
            rng.range(1, 12),
            rng.range(1, 28)
        )),
    }
}

/// Benchmark text of `kind`, `len` bytes long (cut on a char boundary).
pub fn bench_text(kind: BenchText, len: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(len + 512);
    while out.len() < len {
        match kind {
            BenchText::Prose => prose_sentence(&mut rng, &mut out),
            BenchText::Code => out.push_str(rng.pick::<&str>(CODE)),
            BenchText::NonAscii => {
                out.push_str(rng.pick::<&str>(NON_ASCII));
                if rng.chance(1, 3) {
                    prose_sentence(&mut rng, &mut out);
                }
            }
            BenchText::Dense => {
                // ~100 bytes: some filler words, then one candidate.
                for _ in 0..rng.range(6, 10) {
                    out.push_str(rng.pick::<&str>(WORDS));
                    out.push(' ');
                }
                dense_item(&mut rng, &mut out);
            }
            BenchText::Prompt => {
                if out.is_empty() {
                    out.push_str("Can you review this function and tell me why the tests are flaky?\n\n```\n");
                    out.push_str(rng.pick::<&str>(CODE));
                    out.push_str("```\n\n");
                }
                prose_sentence(&mut rng, &mut out);
            }
        }
    }
    let mut cut = len.min(out.len());
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out
}
