//! The workspace's shape, kept by a test: dependencies between crates run
//! one way (a crate never depends on one at its own level or above, except
//! where the table below says), and inside a crate no two files import
//! each other, directly or around a circle.
//!
//! The order is the one `docs/layout.md` explains: binary -> {control,
//! gateway} -> core -> config -> {identity, policy, screen, audit,
//! posture} -> store -> types; gateway -> translate -> types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate's level: a crate may depend (normal dependencies)
/// only on crates of a lower level.
const LEVELS: &[(&str, u32)] = &[
    ("modelgate-types", 0),
    ("modelgate-mock", 0),
    ("modelgate-store", 1),
    ("modelgate-translate", 1),
    ("modelgate-audit", 2),
    ("modelgate-screen", 2),
    ("modelgate-policy", 2),
    ("modelgate-posture", 2),
    // Identities live on the store; the other domain crates do not.
    ("modelgate-identity", 2),
    ("modelgate-config", 3),
    ("modelgate-core", 4),
    ("modelgate-control", 5),
    ("modelgate-gateway", 5),
    ("modelgate", 6),
    ("modelgate-bench", 6),
    ("modelgate-fuzz", 6),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `cargo metadata` of the workspace: each member's name, its normal
/// dependencies on other members, and its directory.
fn members() -> Vec<(String, Vec<String>, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|n| names.contains(n))
                .collect();
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap());
            (
                p["name"].as_str().unwrap().to_owned(),
                deps,
                manifest.parent().unwrap().to_owned(),
            )
        })
        .collect()
}

/// What breaks the one-way order among `members` (name and normal
/// dependencies), given each crate's level.
fn order_violations(members: &[(String, Vec<String>)], levels: &[(&str, u32)]) -> Vec<String> {
    let levels: HashMap<&str, u32> = levels.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, deps) in members {
        let Some(&level) = levels.get(name.as_str()) else {
            wrong.push(format!("{name} has no level in LEVELS: place it"));
            continue;
        };
        for dep in deps {
            match levels.get(dep.as_str()) {
                Some(&l) if l < level => {}
                _ => wrong.push(format!("{name} depends on {dep}, at its level or above")),
            }
        }
    }
    wrong
}

#[test]
fn crates_depend_one_way() {
    let members: Vec<(String, Vec<String>)> =
        members().into_iter().map(|(n, d, _)| (n, d)).collect();
    let wrong = order_violations(&members, LEVELS);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_order_check_sees_a_dependency_upward() {
    let member = |name: &str, deps: &[&str]| {
        (
            name.to_owned(),
            deps.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>(),
        )
    };
    let levels = [("low", 0), ("mid", 1), ("mid2", 1), ("high", 2)];
    assert!(order_violations(&[member("high", &["mid", "low"])], &levels).is_empty());
    assert_eq!(
        order_violations(&[member("low", &["high"])], &levels),
        vec!["low depends on high, at its level or above"]
    );
    assert_eq!(
        order_violations(&[member("mid", &["mid2"])], &levels).len(),
        1
    );
    assert_eq!(order_violations(&[member("new", &[])], &levels).len(), 1);
}

#[test]
fn the_planes_do_not_depend_on_each_other_nor_core_on_either() {
    let all = members();
    let deps_of = |name: &str| -> Vec<String> {
        all.iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, d, _)| d.clone())
            .unwrap()
    };
    assert!(!deps_of("modelgate-gateway").contains(&"modelgate-control".to_owned()));
    assert!(!deps_of("modelgate-control").contains(&"modelgate-gateway".to_owned()));
    for dep in deps_of("modelgate-core") {
        assert!(
            !dep.ends_with("-gateway") && !dep.ends_with("-control"),
            "{dep}"
        );
    }
    assert_eq!(deps_of("modelgate-translate"), vec!["modelgate-types"]);
    assert!(deps_of("modelgate-types").is_empty());
}

/// A crate's source files by module path (`stages::screen`), test-only
/// files left out.
fn module_files(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut files = BTreeMap::new();
    let mut stack = vec![src.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let name = parts.last().map(String::as_str).unwrap_or("");
            if name.ends_with("_tests") || name == "tests" || name == "agreement" {
                continue;
            }
            files.insert(parts.join("::"), path);
        }
    }
    files
}

/// The code of a file without comments and without `#[cfg(test)]` items.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            // Skip the next item: a `mod x;` line or a braced block.
            let mut depth = 0i32;
            for next in lines.by_ref() {
                depth += next.matches('{').count() as i32 - next.matches('}').count() as i32;
                if depth <= 0 && (next.contains('}') || next.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(line.split("//").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

/// Expands a use tree (`crate::{a, b::{c, d}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or("").to_owned()];
    };
    let close = tree.rfind('}').filter(|&c| c > open).unwrap_or(tree.len());
    let prefix = &tree[..open];
    let inner = &tree[open + 1..close];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// The paths a file refers to (`use` trees and `crate::`/`super::` paths
/// in code), and the names it re-exports (`pub use`).
fn references(code: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut paths = Vec::new();
    let mut reexports = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let s = line.trim_start();
        let (public, start) = if let Some(t) = s.strip_prefix("pub use ") {
            (true, t)
        } else if let Some(t) = s
            .strip_prefix("pub(crate) use ")
            .or_else(|| s.strip_prefix("pub(super) use "))
        {
            (true, t)
        } else if let Some(t) = s.strip_prefix("use ") {
            (false, t)
        } else {
            continue;
        };
        let mut tree = start.to_owned();
        while !tree.contains(';') {
            match lines.next() {
                Some(more) => tree.push_str(more),
                None => break,
            }
        }
        let tree = tree.split(';').next().unwrap_or("");
        for path in expand(tree) {
            if public {
                let name = path.rsplit("::").next().unwrap_or("").to_owned();
                reexports.push((name, path.clone()));
            } else {
                paths.push(path);
            }
        }
    }
    let mut rest = code;
    while let Some(i) = ["crate::", "super::"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        let tail = &rest[i..];
        let path = path_at(tail);
        paths.push(path.to_owned());
        rest = &tail[path.len().max(1)..];
    }
    (paths, reexports)
}

/// Resolves `path`, as written in module `from`, to the file that defines
/// what it names: the deepest module file on the path, following the
/// re-exports of that module.
fn resolve(
    path: &str,
    from: &str,
    files: &BTreeMap<String, PathBuf>,
    reexports: &HashMap<String, Vec<(String, String)>>,
    hops: u32,
) -> Option<String> {
    let mut segments: Vec<&str> = Vec::new();
    let mut base: Vec<&str> = from.split("::").filter(|s| !s.is_empty()).collect();
    let mut parts = path.split("::").peekable();
    match parts.peek() {
        Some(&"crate") => {
            parts.next();
            base.clear();
        }
        Some(&"super") | Some(&"self") => {
            while let Some(&p) = parts.peek() {
                match p {
                    "super" => {
                        base.pop();
                    }
                    "self" => {}
                    _ => break,
                }
                parts.next();
            }
        }
        // A path from the module's own scope: a child module or an
        // external crate (which resolves to nothing here).
        _ => {}
    }
    segments.extend(base);
    segments.extend(parts);
    let mut module = String::new();
    let mut resolved = files.contains_key("").then(String::new);
    for (i, seg) in segments.iter().enumerate() {
        let candidate = if module.is_empty() {
            (*seg).to_owned()
        } else {
            format!("{module}::{seg}")
        };
        if files.contains_key(&candidate) {
            module = candidate;
            resolved = Some(module.clone());
            continue;
        }
        // Not a module: an item of `module`, maybe re-exported from elsewhere.
        if hops < 8
            && let Some((_, target)) = reexports
                .get(&module)
                .and_then(|r| r.iter().find(|(name, _)| name == seg))
        {
            let rest = segments[i + 1..].join("::");
            let full = if rest.is_empty() {
                target.clone()
            } else {
                format!("{target}::{rest}")
            };
            return resolve(&full, &module, files, reexports, hops + 1).or(resolved);
        }
        break;
    }
    resolved
}

/// The paths in `text` (the code of `module`) that start at one of its
/// child modules (`admin::routes()`, `stream::Tap`), as `self::` paths;
/// re-exports and module declarations left out.
fn child_paths(module: &str, text: &str, files: &BTreeMap<String, PathBuf>) -> Vec<String> {
    let text: String = text
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            !(l.starts_with("pub use ")
                || l.starts_with("pub(crate) use ")
                || l.starts_with("pub(super) use ")
                || l.starts_with("mod ")
                || l.starts_with("pub mod "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    for child in children(module, files) {
        let needle = format!("{child}::");
        let mut at = 0;
        while let Some(i) = text[at..].find(&needle) {
            let start = at + i;
            let before = text[..start].chars().next_back();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                paths.push(format!("self::{}", path_at(&text[start..])));
            }
            at = start + needle.len();
        }
    }
    paths
}

/// The path that `tail` starts with (`a::b::c` of `a::b::c(x)`).
fn path_at(tail: &str) -> &str {
    let end = tail
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(tail.len());
    tail[..end].trim_end_matches(':')
}

/// The names of `module`'s child modules that have files of their own.
fn children(module: &str, files: &BTreeMap<String, PathBuf>) -> Vec<String> {
    let prefix = if module.is_empty() {
        String::new()
    } else {
        format!("{module}::")
    };
    files
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix))
        .filter(|rest| !rest.is_empty() && !rest.contains("::"))
        .map(str::to_owned)
        .collect()
}

/// The circles among a crate's files (strongly connected components of
/// more than one file).
fn circles(src: &Path) -> Vec<Vec<String>> {
    let files = module_files(src);
    let mut codes = HashMap::new();
    let mut reexports = HashMap::new();
    for (module, path) in &files {
        let text = code(&std::fs::read_to_string(path).unwrap());
        let (mut paths, re) = references(&text);
        paths.extend(child_paths(module, &text, &files));
        codes.insert(module.clone(), paths);
        reexports.insert(module.clone(), re);
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, paths) in &codes {
        for path in paths {
            if !(path.starts_with("crate::")
                || path.starts_with("super::")
                || path.starts_with("self::"))
            {
                continue;
            }
            if let Some(target) = resolve(path, module, &files, &reexports, 0)
                && &target != module
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // Tarjan's strongly connected components.
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: HashMap<String, usize>,
        low: HashMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &str) {
        s.index.insert(v.to_owned(), s.next);
        s.low.insert(v.to_owned(), s.next);
        s.next += 1;
        s.stack.push(v.to_owned());
        s.on_stack.insert(v.to_owned());
        let targets: Vec<String> = s
            .edges
            .get(v)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let low = s.low[v].min(s.low[&w]);
                s.low.insert(v.to_owned(), low);
            } else if s.on_stack.contains(&w) {
                let low = s.low[v].min(s.index[&w]);
                s.low.insert(v.to_owned(), low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = w == v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges: &edges,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for module in files.keys() {
        if !state.index.contains_key(module) {
            visit(&mut state, module);
        }
    }
    state.found
}

#[test]
fn no_circle_of_files_inside_a_crate() {
    let mut found = Vec::new();
    for (name, _, dir) in members() {
        for circle in circles(&dir.join("src")) {
            found.push(format!("{name}: {}", circle.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "files that import each other (move what both need into a file of its own):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_circle_check_sees_a_circle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "//! x\nmod a;\nmod b;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(src.join("b.rs"), "use super::a::A;\npub struct B;\n").unwrap();
    assert_eq!(circles(src), vec![vec!["a".to_owned(), "b".to_owned()]]);
    // Through a re-export of the crate root.
    std::fs::write(src.join("lib.rs"), "//! x\nmod a;\nmod b;\npub use a::A;\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::A;\npub struct B;\n").unwrap();
    assert_eq!(circles(src), vec![vec!["a".to_owned(), "b".to_owned()]]);
    // Test code does not count.
    std::fs::write(
        src.join("b.rs"),
        "pub struct B;\n#[cfg(test)]\nmod tests {\n    use crate::A;\n}\n",
    )
    .unwrap();
    assert!(circles(src).is_empty());
}

/// The stage calls (`module::function`) in `text`, in order, for the
/// modules of `crates/modelgate-gateway/src/stages/`.
fn stage_calls(text: &str, stages: &BTreeSet<String>) -> Vec<String> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("::") {
        let head = &rest[..i];
        let module: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let tail = &rest[i + 2..];
        let function: String = tail
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let before = head[..head.len() - module.len()].chars().next_back();
        if stages.contains(&module)
            && !function.is_empty()
            && function.chars().all(|c| c.is_lowercase() || c == '_')
            && before != Some(':')
        {
            calls.push(format!("{module}::{function}"));
        }
        rest = &tail[function.len()..];
    }
    calls
}

#[test]
fn request_path_doc_follows_the_pipeline_line_for_line() {
    let root = workspace_root();
    let gateway = root.join("crates/modelgate-gateway/src");
    let stages: BTreeSet<String> = std::fs::read_dir(gateway.join("stages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().into_owned();
            (name != "mod").then_some(name)
        })
        .collect();
    let pipeline = code(&std::fs::read_to_string(gateway.join("pipeline.rs")).unwrap());
    // The stages in the order they run: those of `stages()`, then the
    // account stage that `model_call` runs when the call ends.
    let body = &pipeline[pipeline.find("async fn stages(").unwrap()..];
    let mut ran: Vec<String> = stage_calls(body, &stages)
        .into_iter()
        .filter(|c| !c.starts_with("forward::Forwarded"))
        .collect();
    ran.push("account::finish".to_owned());
    let doc = std::fs::read_to_string(root.join("docs/request-path.md")).unwrap();
    let rows: Vec<String> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| stage"))
        .filter_map(|l| {
            let cell = l.split('|').nth(2)?;
            let call = cell.split('`').nth(1)?;
            call.contains("::").then(|| call.to_owned())
        })
        .take_while(|c| !c.contains('{'))
        .collect();
    assert_eq!(
        rows, ran,
        "docs/request-path.md's table against pipeline.rs"
    );
    assert!(ran.len() >= 15, "{ran:?}");
}
