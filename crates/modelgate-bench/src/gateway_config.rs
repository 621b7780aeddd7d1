//! The gateway configuration a scenario runs with: the base file (listener,
//! the mock as upstream, the bench model), the `[store]` of one gateway
//! start (a SQLite file, or a PostgreSQL database with the password by
//! reference), a scenario's fragment with its placeholders filled, and the
//! merge of them.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use crate::scenario::{PUBLIC_MODEL, UPSTREAM_MODEL};

/// Placeholders a configuration fragment may hold; the harness replaces
/// them before merging (fragments are static text, the paths are not).
pub mod placeholder {
    /// The `[[roles]]` tables of the bench policy set.
    pub const ROLES: &str = "{ROLES}";
    /// The directory of the bench policy set's `*.cedar` files (a TOML
    /// string).
    pub const POLICY_DIR: &str = "{POLICY_DIR}";
    /// A directory for JSON-lines audit files on tmpfs (a TOML string).
    pub const AUDIT_DIR: &str = "{AUDIT_DIR}";
}

/// What a configuration fragment's placeholders stand for.
#[derive(Debug, Clone, Copy)]
pub struct FragmentPaths<'a> {
    /// The `[[roles]]` tables.
    pub roles: &'a str,
    /// The policy directory.
    pub policy_dir: &'a Path,
    /// The audit files' directory.
    pub audit_dir: &'a Path,
}

/// `fragment` with its [`placeholder`]s replaced.
pub fn fill_fragment(fragment: &str, paths: FragmentPaths<'_>) -> String {
    fragment
        .replace(placeholder::ROLES, paths.roles)
        .replace(
            placeholder::POLICY_DIR,
            &toml_string(&paths.policy_dir.to_string_lossy()),
        )
        .replace(
            placeholder::AUDIT_DIR,
            &toml_string(&paths.audit_dir.to_string_lossy()),
        )
}

/// Whether a fragment configures roles (the bench identity then needs its
/// role assigned).
pub fn has_roles(fragment: &str) -> bool {
    fragment.contains(placeholder::ROLES)
}

/// The base gateway configuration: loopback listener on a free port (and
/// the metrics listener on another, so parallel gateways never contend for
/// the default 9464), one self-hosted `openai` upstream at the mock and the
/// bench model routed to it. No `[store]`: [`store_fragment`] adds the one
/// of each gateway start.
pub fn base_gateway_config(mock: SocketAddr) -> String {
    let mut c = String::new();
    let _ = write!(
        c,
        "[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n\n\
         [log]\nformat = \"text\"\nlevel = \"info\"\n\n\
         [[upstreams]]\nname = \"mock\"\nkind = \"openai\"\nbase_url = \"http://{mock}/v1\"\n\
         deployment = \"self_hosted\"\nregion = \"local\"\nisolation = \"technical\"\n\n\
         [[models]]\nname = \"{PUBLIC_MODEL}\"\n\
         targets = [{{ upstream = \"mock\", model = \"{UPSTREAM_MODEL}\" }}]\n",
    );
    c
}

/// The environment variable the PostgreSQL password reaches the gateway
/// (and its CLI) in; the configuration names it (`password = "env:..."`),
/// never the value.
pub const PG_PASSWORD_ENV: &str = "MODELGATE_BENCH_PG_PASSWORD";

/// The store of one gateway start.
#[derive(Debug, Clone, Copy)]
pub enum StoreSpec<'a> {
    /// A SQLite file.
    Sqlite(&'a Path),
    /// A PostgreSQL database.
    Postgres {
        /// `postgres://user@host:port/database`, no password.
        url: &'a str,
        /// CA certificate of the server's TLS certificate.
        ca_file: &'a Path,
    },
}

/// The `[store]` table of `spec`. PostgreSQL: the url, the password as the
/// reference `env:`[`PG_PASSWORD_ENV`], `sslmode = "verify-full"` and the
/// CA file.
pub fn store_fragment(spec: StoreSpec<'_>) -> String {
    match spec {
        StoreSpec::Sqlite(path) => {
            format!("[store]\npath = {}\n", toml_string(&path.to_string_lossy()))
        }
        StoreSpec::Postgres { url, ca_file } => format!(
            "[store]\nurl = {}\npassword = {}\nsslmode = \"verify-full\"\nca_file = {}\n",
            toml_string(url),
            toml_string(&format!("env:{PG_PASSWORD_ENV}")),
            toml_string(&ca_file.to_string_lossy()),
        ),
    }
}

/// The `[tokens]` table naming a key-encryption key file (gateways with
/// access tokens refuse to start without one).
pub fn tokens_fragment(kek: &Path) -> String {
    let reference = format!("file:{}", kek.to_string_lossy());
    format!("[tokens]\nkek = {}\n", toml_string(&reference))
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// One `[table]` or `[[array]]` section of a configuration (the header
/// line, then its lines); the section before any header has an empty
/// header.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) header: String,
    pub(crate) lines: Vec<String>,
}

pub(crate) fn sections(text: &str) -> Vec<Section> {
    let mut out = vec![Section {
        header: String::new(),
        lines: Vec::new(),
    }];
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            out.push(Section {
                header: trimmed.to_owned(),
                lines: Vec::new(),
            });
        } else if !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && let Some(last) = out.last_mut()
        {
            last.lines.push(trimmed.to_owned());
        }
    }
    out
}

fn key_of(line: &str) -> &str {
    line.split('=').next().unwrap_or("").trim()
}

/// `base` with `fragment` merged in: keys of a fragment `[table]` replace
/// the same keys of the base table (others are added), a table the base
/// lacks is added, and `[[array]]` sections are appended.
pub fn merge_config(base: &str, fragment: &str) -> String {
    let mut merged = sections(base);
    for section in sections(fragment) {
        let is_array = section.header.starts_with("[[");
        let existing = merged
            .iter_mut()
            .find(|s| !is_array && s.header == section.header);
        match existing {
            Some(target) => {
                for line in section.lines {
                    let key = key_of(&line).to_owned();
                    match target.lines.iter_mut().find(|l| key_of(l) == key) {
                        Some(old) => *old = line,
                        None => target.lines.push(line),
                    }
                }
            }
            None => merged.push(section),
        }
    }
    let mut out = String::new();
    for section in merged {
        if section.header.is_empty() && section.lines.is_empty() {
            continue;
        }
        if !section.header.is_empty() {
            out.push_str(&section.header);
            out.push('\n');
        }
        for line in &section.lines {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_fragment_quotes_paths() {
        let filled = fill_fragment(
            "{ROLES}\n[policy]\ndir = {POLICY_DIR}\n[audit.file]\ndir = {AUDIT_DIR}\n",
            FragmentPaths {
                roles: "",
                policy_dir: Path::new("/tmp/a \"b\""),
                audit_dir: Path::new("/dev/shm/x"),
            },
        );
        assert_eq!(
            filled,
            "\n[policy]\ndir = \"/tmp/a \\\"b\\\"\"\n[audit.file]\ndir = \"/dev/shm/x\"\n"
        );
        assert_eq!(
            fill_fragment(
                "[log]\nlevel = \"warn\"\n",
                FragmentPaths {
                    roles: "x",
                    policy_dir: Path::new("/p"),
                    audit_dir: Path::new("/a"),
                }
            ),
            "[log]\nlevel = \"warn\"\n"
        );
    }

    #[test]
    fn base_config_points_at_the_mock() {
        let mock: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        let c = base_gateway_config(mock);
        assert!(c.contains("base_url = \"http://127.0.0.1:4567/v1\""));
        assert!(!c.contains("[store]"), "each gateway start adds its own");
        assert!(c.contains("listen = \"127.0.0.1:0\""));
        assert!(c.contains("metrics_listen = \"127.0.0.1:0\""));
        assert!(c.contains("deployment = \"self_hosted\""));
        assert!(c.contains("name = \"bench-chat\""));
    }

    #[test]
    fn sqlite_store_is_a_quoted_path() {
        assert_eq!(
            store_fragment(StoreSpec::Sqlite(Path::new("/tmp/a \"b\"/store-3.db"))),
            "[store]\npath = \"/tmp/a \\\"b\\\"/store-3.db\"\n"
        );
    }

    #[test]
    fn postgres_store_has_the_url_and_a_password_reference_not_a_path() {
        let store = store_fragment(StoreSpec::Postgres {
            url: "postgres://modelgate@127.0.0.1:5433/bench_4",
            ca_file: Path::new("/tmp/pg/ca.crt"),
        });
        assert_eq!(
            store,
            "[store]\nurl = \"postgres://modelgate@127.0.0.1:5433/bench_4\"\n\
             password = \"env:MODELGATE_BENCH_PG_PASSWORD\"\nsslmode = \"verify-full\"\n\
             ca_file = \"/tmp/pg/ca.crt\"\n"
        );
        let merged = merge_config(&base_gateway_config("127.0.0.1:1".parse().unwrap()), &store);
        let lines: Vec<String> = sections(&merged)
            .into_iter()
            .filter(|s| s.header == "[store]")
            .flat_map(|s| s.lines)
            .collect();
        assert_eq!(lines.len(), 4, "{merged}");
        assert!(lines.iter().all(|l| !l.starts_with("path")), "{merged}");
    }

    #[test]
    fn tokens_fragment_references_the_kek_file() {
        assert_eq!(
            tokens_fragment(Path::new("/tmp/x/kek")),
            "[tokens]\nkek = \"file:/tmp/x/kek\"\n"
        );
    }

    #[test]
    fn merge_overrides_keys_and_appends_tables() {
        let base = "[server]\nlisten = \"x\"\n\n[log]\nformat = \"text\"\nlevel = \"info\"\n\n[[upstreams]]\nname = \"a\"\n";
        let merged = merge_config(
            base,
            "[log]\nlevel = \"warn\"\n\n[policy]\nenabled = false\n\n[[upstreams]]\nname = \"b\"\n",
        );
        assert_eq!(
            merged,
            "[server]\nlisten = \"x\"\n\n[log]\nformat = \"text\"\nlevel = \"warn\"\n\n[[upstreams]]\nname = \"a\"\n\n[policy]\nenabled = false\n\n[[upstreams]]\nname = \"b\"\n\n"
        );
        assert_eq!(merge_config(base, ""), merge_config(base, "\n# nothing\n"));
    }
}
