#!/usr/bin/env python3
"""Score detect-secrets on modelgate-screen's labelled corpus, the same way
modelgate-screen's own evaluation does, and print a side-by-side table.

Usage: detect_secrets_eval.py CORPUS_JSONL OUR_REPORT_JSON [OUT_MD]

Each sample is written to its own file (with an extension matching its
context: .env, .yaml, .json, .py, .js, .toml, .sh, .txt) and scanned with
detect-secrets' default settings (all plugins, default filters). A labelled
span counts as found when a reported secret overlaps it (the reported
secret's value located in its line; the whole line if the value is not
there). detect-secrets' types do not map one-to-one onto our kinds, so its
recall is type-agnostic (any report over the span counts), which favours it.
A report that overlaps no label is a false positive.
"""

import json
import os
import sys
import tempfile
import time

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

EXTENSIONS = {
    "dotenv": ".env",
    "dotenv_quoted": ".env",
    "yaml": ".yaml",
    "json": ".json",
    "python": ".py",
    "javascript": ".js",
    "toml": ".toml",
    "shell": ".sh",
    "docker": ".sh",
    "curl": ".sh",
    "python_code": ".py",
    "js_code": ".js",
    "rust_code": ".rs",
    "hex_color_css": ".css",
}


def extension(source):
    return EXTENSIONS.get(source.split("/", 1)[1], ".txt")


def spans_of(text_bytes, secrets):
    """Byte spans of reported secrets."""
    lines = text_bytes.split(b"\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    spans = []
    for secret in secrets:
        index = secret.line_number - 1
        if not 0 <= index < len(lines):
            continue
        line = lines[index]
        value = (secret.secret_value or "").encode()
        at = line.find(value) if value else -1
        if at >= 0:
            spans.append((starts[index] + at, starts[index] + at + len(value), secret.type))
        else:
            spans.append((starts[index], starts[index] + len(line), secret.type))
    return spans


def overlaps(a, b):
    return a[0] < b[1] and b[0] < a[1]


def main():
    corpus_path, report_path = sys.argv[1], sys.argv[2]
    out_path = sys.argv[3] if len(sys.argv) > 3 else None
    samples = [json.loads(line) for line in open(corpus_path, encoding="utf-8")]
    ours = {k["kind"]: k for k in json.load(open(report_path))["kinds"]}
    ours_neg = {n["class"]: n for n in json.load(open(report_path))["negatives"]}

    found = {}
    labels = {}
    fp_by_source = {}
    reports = matched = 0
    neg_flagged = {}
    neg_samples = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, default_settings():
        for i, sample in enumerate(samples):
            text = sample["text"].encode()
            path = os.path.join(tmp, f"s{i}{extension(sample['source'])}")
            with open(path, "wb") as f:
                f.write(text)
            collection = SecretsCollection()
            collection.scan_file(path)
            secrets = [s for _, s in collection]
            spans = spans_of(text, secrets)
            for label in sample["labels"]:
                kind = label["kind"]
                labels[kind] = labels.get(kind, 0) + 1
                if any(overlaps(s, (label["start"], label["end"])) for s in spans):
                    found[kind] = found.get(kind, 0) + 1
            for s in spans:
                reports += 1
                if any(overlaps(s, (l["start"], l["end"])) for l in sample["labels"]):
                    matched += 1
                else:
                    fp_by_source[sample["source"]] = fp_by_source.get(sample["source"], 0) + 1
            if sample["source"].startswith("negative/"):
                cls = sample["source"].split("/", 1)[1]
                neg_samples[cls] = neg_samples.get(cls, 0) + 1
                if spans:
                    neg_flagged[cls] = neg_flagged.get(cls, 0) + 1
    elapsed = time.perf_counter() - started

    out = []
    out.append(f"detect-secrets 1.5.0 (default settings) on {len(samples)} samples: {elapsed:.1f} s\n")
    out.append("| kind | category | labels | modelgate recall | modelgate precision | detect-secrets recall |")
    out.append("|---|---|---:|---:|---:|---:|")
    totals = {}
    for kind in sorted(labels, key=lambda k: (ours.get(k, {}).get("category") or "", k)):
        o = ours.get(kind, {})
        category = o.get("category") or "-"
        n = labels[kind]
        tp = o.get("tp", 0)
        m, fp = o.get("matched_findings", 0), o.get("fp", 0)
        prec = m / (m + fp) if m + fp else 1.0
        ds = found.get(kind, 0)
        t = totals.setdefault(category, [0, 0, 0])
        t[0] += n
        t[1] += tp
        t[2] += ds
        out.append(f"| {kind} | {category} | {n} | {tp / n:.3f} | {prec:.3f} | {ds / n:.3f} |")
    for category, (n, tp, ds) in sorted(totals.items()):
        out.append(f"| **all {category}** | | {n} | {tp / n:.3f} | | {ds / n:.3f} |")
    ds_precision = matched / reports if reports else 1.0
    our_m = sum(k.get("matched_findings", 0) for k in ours.values())
    our_fp = sum(k.get("fp", 0) for k in ours.values())
    out.append("")
    out.append(f"Precision over all reports: modelgate {our_m / (our_m + our_fp):.3f} "
               f"({our_fp} false positives of {our_m + our_fp}); "
               f"detect-secrets {ds_precision:.3f} ({reports - matched} false positives of {reports}).")
    out.append("")
    out.append("| hard negative class | samples | flagged by modelgate | flagged by detect-secrets |")
    out.append("|---|---:|---:|---:|")
    for cls in sorted(neg_samples):
        out.append(f"| {cls} | {neg_samples[cls]} | {ours_neg.get(cls, {}).get('flagged', 0)} | {neg_flagged.get(cls, 0)} |")
    text = "\n".join(out) + "\n"
    print(text)
    if out_path:
        with open(out_path, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
