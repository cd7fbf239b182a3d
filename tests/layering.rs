//! The dependency rule of `src/lib.rs`, enforced: a module imports only from layers below its
//! own (or from itself), so the pipeline stays one-way — ingest → assess → compose → gate →
//! pipeline → deliver — and the model, config and store depend on no stage. Unit-test code
//! (`#[cfg(test)]` sections and `tests.rs` files) may reach anywhere; comments are not code.
//! A new top-level module fails here until it is given its place in `LAYERS` (and in the
//! layout doc of `lib.rs`).

use std::path::{Path, PathBuf};

/// Bottom first. Modules in one entry may import each other.
const LAYERS: &[&[&str]] = &[
    &["text", "clock", "secret"],
    &["model"],
    &["config"],
    &["store"],
    &["feed"], // the ingest stage: MQTT session, signatures, decoders
    &["assess"],
    &["compose"],
    &["gate"],
    &["pipeline"],
    &["deliver"],
    &["inbound"], // coming: the WeChat callback (citizens' messages, keyword replies)
    &["console"], // coming: the duty officer's web console
    &[
        "daemon", "status", "check", "render", "replay", "push", "ops", "embedded",
    ],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a source file belongs to (`src/feed/cap.rs` → `feed`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Every `crate::NAME` that `code` uses outside comments and test sections.
fn imports(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

/// The violations in one file: (line, imported module, why).
fn violations(module: &str, code: &str) -> Vec<String> {
    let Some(own) = layer(module) else {
        return vec![format!("module `{module}` has no layer in tests/layering.rs")];
    };
    imports(code)
        .into_iter()
        .filter(|(_, m)| m != module)
        .filter_map(|(line, m)| match layer(&m) {
            None => Some(format!("line {line}: crate::{m} has no layer")),
            Some(l) if l > own || (l == own && LAYERS[l].len() == 1) => Some(format!(
                "line {line}: `{module}` imports crate::{m}, a layer above it"
            )),
            _ => None,
        })
        .collect()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut found = Vec::new();
    let mut checked = 0;
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // The binary (it uses the library as `alertd::`), the crate root, and unit tests.
        if ["main.rs", "lib.rs", "tests.rs"].contains(&name) {
            continue;
        }
        let code = std::fs::read_to_string(f).expect("read");
        checked += 1;
        for v in violations(&module_of(&src, f), &code) {
            found.push(format!("{}: {v}", f.strip_prefix(&src).unwrap_or(f).display()));
        }
    }
    assert!(checked > 80, "only {checked} files found");
    assert!(found.is_empty(), "backward imports:\n{}", found.join("\n"));
}

#[test]
fn the_rule_catches_a_backward_import_and_ignores_comments_and_tests() {
    // The pipeline naming a delivery type: the stage after it.
    let bad = "use crate::deliver::Job;\n";
    assert_eq!(violations("pipeline", bad).len(), 1);
    assert_eq!(
        violations("store", "fn f() { crate::feed::decode(b\"\", 1); }").len(),
        1
    );
    assert_eq!(violations("config", "use crate::compose::link;").len(), 1);
    // Below is fine; so is a doc comment, and anything in a test section.
    assert!(violations(
        "deliver",
        "use crate::pipeline::Outcome;\nuse crate::store::outbox;"
    )
    .is_empty());
    assert!(violations("store", "/// see [`crate::feed::decode`]\n").is_empty());
    assert!(violations("model", "#[cfg(test)]\nmod tests { use crate::feed::decode; }").is_empty());
    // The app layer's modules may use each other; a new module must be placed first.
    assert!(violations("render", "use crate::daemon::feed_keys;").is_empty());
    assert_eq!(violations("newthing", "").len(), 1);
}
