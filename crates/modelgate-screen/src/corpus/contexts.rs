//! Where secrets show up: shell exports, `.env` files, YAML, JSON, Python,
//! JavaScript, Go, Ruby, TOML, INI, HCL, Kubernetes secrets, XML, docker
//! and curl commands, log lines, prose and chat messages.
//! Each template takes a variable name, a human phrase and the value, and
//! reports where the value landed.

use std::ops::Range;

use super::naming::Naming;
use super::rng::Rng;

/// A context template. `{N}` is an UPPER_SNAKE name, `{n}` its lower case,
/// `{c}` its camelCase, `{P}` a human phrase, `{V}` the value (once).
pub(crate) struct Template {
    pub name: &'static str,
    pub text: &'static str,
    /// Keeps the name right before an assignment of the value, so kinds
    /// recognised by context can be found in it.
    pub assigns: bool,
    /// Can hold a multi-line value.
    pub multiline: bool,
}

const fn tpl(name: &'static str, text: &'static str, assigns: bool, multiline: bool) -> Template {
    Template {
        name,
        text,
        assigns,
        multiline,
    }
}

/// Every template.
pub(crate) const TEMPLATES: &[Template] = &[
    tpl("shell", "export {N}={V}\n", true, false),
    tpl(
        "dotenv",
        "APP_ENV=production\n{N}={V}\nLOG_LEVEL=info\n",
        true,
        false,
    ),
    tpl(
        "dotenv_quoted",
        "# .env\nAPP_NAME=billing\n{N}=\"{V}\"\n",
        true,
        false,
    ),
    tpl(
        "yaml",
        "service:\n  name: billing\n  {n}: {V}\n  region: eu-west-1\n",
        true,
        false,
    ),
    tpl(
        "json",
        "{\"service\": \"billing\", \"{n}\": \"{V}\", \"timeout_ms\": 3000}",
        true,
        false,
    ),
    tpl(
        "python",
        "import os\n\n{N} = \"{V}\"\nclient = make_client({N})\n",
        true,
        false,
    ),
    tpl(
        "javascript",
        "const {c} = '{V}';\nmodule.exports = { {c} };\n",
        true,
        false,
    ),
    tpl(
        "toml",
        "[service]\n{n} = \"{V}\"\nretries = 3\n",
        true,
        false,
    ),
    tpl(
        "docker",
        "docker run --rm -e {N}={V} acme/api:latest\n",
        true,
        false,
    ),
    tpl(
        "log",
        "2024-05-01T12:00:03.114Z WARN upstream rejected credentials {n}={V} status=401\n",
        true,
        false,
    ),
    tpl(
        "prose",
        "Here is my {P}: {V} and it keeps failing with 403, what am I doing wrong?",
        true,
        false,
    ),
    tpl(
        "chat",
        "hey, quick one. my {P} is {V} - can you tell me why the deploy job rejects it?",
        true,
        false,
    ),
    tpl(
        "curl",
        "curl -s https://api.internal.acme.io/v2/jobs -H \"X-Auth: {V}\" -d '{\"ref\":\"main\"}'\n",
        false,
        false,
    ),
    tpl(
        "markdown",
        "Config that reproduces it:\n\n```\n{V}\n```\n\nAny idea?",
        false,
        true,
    ),
    tpl(
        "paste",
        "I pasted the credential below, please check the format:\n{V}\nthanks!",
        false,
        true,
    ),
    tpl(
        "xml",
        "<config>\n  <{n}>{V}</{n}>\n  <timeout>30</timeout>\n</config>\n",
        true,
        false,
    ),
    tpl(
        "go",
        "func init() {\n\t{c} := \"{V}\"\n\tregister({c})\n}\n",
        true,
        false,
    ),
    tpl(
        "ruby",
        "Client.configure do |c|\n  c.{n} = '{V}'\nend\n",
        true,
        false,
    ),
    tpl(
        "hcl",
        "resource \"acme_service\" \"api\" {\n  {n} = \"{V}\"\n}\n",
        true,
        false,
    ),
    tpl(
        "k8s",
        "apiVersion: v1\nkind: Secret\nstringData:\n  {n}: \"{V}\"\n",
        true,
        false,
    ),
    tpl("ini", "[credentials]\n{n} = {V}\n", true, false),
    tpl("sentence", "FYI the {P} is {V}.", true, false),
];

/// Templates usable for a kind.
pub(crate) fn templates_for(naming: &Naming) -> Vec<&'static Template> {
    TEMPLATES
        .iter()
        .filter(|t| !naming.multiline || t.multiline || t.name == "prose" || t.name == "chat")
        .filter(|t| !naming.needs_name || t.assigns)
        .collect()
}

fn camel(name: &str) -> String {
    let mut out = String::new();
    for (i, part) in name.split('_').enumerate() {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(f) = chars.next() {
                out.push(f.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

/// Fills `template`; returns the text and where `value` is in it.
pub(crate) fn fill(
    template: &Template,
    naming: &Naming,
    value: &str,
    rng: &mut Rng,
) -> (String, Range<usize>) {
    let name = *rng.pick(naming.names);
    let phrase = *rng.pick(naming.phrases);
    let subst = |s: &str| {
        s.replace("{N}", name)
            .replace("{n}", &name.to_ascii_lowercase())
            .replace("{c}", &camel(name))
            .replace("{P}", phrase)
    };
    let (before, after) = template
        .text
        .split_once("{V}")
        .unwrap_or((template.text, ""));
    let before = subst(before);
    let after = subst(after);
    let span = before.len()..before.len() + value.len();
    (format!("{before}{value}{after}"), span)
}

/// Contexts for personal data: `{V}` is the value.
pub(crate) const PERSONAL_TEMPLATES: &[&str] = &[
    "Please update my contact details to {V} before Friday.",
    "{\"customer\": {\"name\": \"J. Doe\", \"value\": \"{V}\", \"tier\": \"gold\"}}",
    "name,contact,city\nJ. Doe,{V},Berlin\n",
    "2024-05-01T12:00:03Z INFO checkout: customer ref {V} flagged for review\n",
    "hi! can you draft a reply to the customer ({V}) saying the refund is on its way?",
    "Customer record:\n  contact: {V}\n  segment: enterprise\n",
    "Summarize this ticket. Reporter: {V}. Issue: login loop after password reset.",
    "INSERT INTO customers (name, contact) VALUES ('J. Doe', '{V}');",
    "<input name=\"contact\" value=\"{V}\">",
    "| J. Doe | {V} | Berlin |",
    "> Forwarded message, contact {V}\n> please follow up",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_places_the_value() {
        let mut rng = Rng::new(1);
        let naming = crate::corpus::naming::naming("github_pat");
        for t in TEMPLATES {
            let (text, span) = fill(t, &naming, "VALUE123", &mut rng);
            assert_eq!(&text[span], "VALUE123", "{}", t.name);
        }
        assert_eq!(camel("AWS_SECRET_ACCESS_KEY"), "awsSecretAccessKey");
    }
}
