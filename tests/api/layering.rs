//! The layering the README describes, checked on the sources: `model/` ← `store/` ← `auth/`
//! ← `http/`, with `state`, `config`, `commands`, `server` and `startup` above the domain. An
//! import that runs upward fails here, naming the file and line.
//!
//! Paths are read as the compiler reads them, not searched as text: every `crate::…` path in a
//! file is resolved to its first module, `use crate::{http::…, …}` groups included, and so is
//! every `super::…` path, from the file's own place in the module tree.

use std::path::{Path, PathBuf};

/// The crate's top-level modules, lowest layer first; a module may name only those before it
/// in its own list of allowed ones.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("clock", &["model"]),
    ("metrics", &[]),
    ("telemetry", &[]),
    ("store", &["model", "clock"]),
    ("auth", &["model", "clock", "store", "metrics"]),
    ("state", &["model", "clock", "store", "auth"]),
    (
        "http",
        &["model", "clock", "store", "auth", "state", "metrics"],
    ),
    ("server", &["auth", "http", "state"]),
    // Settings as data, turned into the options of the layers below.
    (
        "config",
        &[
            "model",
            "clock",
            "store",
            "auth",
            "state",
            "http",
            "server",
            "telemetry",
        ],
    ),
    (
        "commands",
        &["model", "clock", "store", "auth", "config", "http", "state"],
    ),
    (
        "startup",
        &[
            "model", "clock", "store", "auth", "state", "http", "config", "server", "metrics",
            "commands",
        ],
    ),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The module path of a source file: `src/auth/guard/mod.rs` is `["auth", "guard"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts
}

/// The text of a file without its comments and string literals, so that prose naming a module
/// is not mistaken for a path.
fn code_only(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        code.push('\n');
                    }
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                code.push_str("\"\"");
            }
            other => code.push(other),
        }
    }
    code
}

/// The top-level modules a piece of code names, with the line of each: `crate::x…`,
/// `crate::{x…, y…}` and `super::…` resolved from `module`.
fn named_modules(code: &str, module: &[String]) -> Vec<(usize, String)> {
    let mut named = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // A group may span lines: take what follows up to its closing brace.
                let start = code.lines().skip(number).collect::<Vec<_>>().join("\n");
                let open = start.find("crate::{").unwrap() + "crate::{".len();
                let mut depth = 1;
                let mut inner = String::new();
                for c in start[open..].chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                    inner.push(c);
                }
                let mut depth = 0;
                let mut item = String::new();
                for c in inner.chars().chain([',']) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            if let Some(first) = first_segment(&item) {
                                named.push((number + 1, first));
                            }
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                rest = group;
            } else {
                if let Some(first) = first_segment(after) {
                    named.push((number + 1, first));
                }
                rest = after;
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find("super::") {
            // Only a path's first `super::` counts, with those chained after it.
            let preceded_by_path = rest[..at].ends_with("::");
            let mut depth = 0;
            let mut after = &rest[at..];
            while let Some(next) = after.strip_prefix("super::") {
                depth += 1;
                after = next;
            }
            if !preceded_by_path && depth <= module.len() {
                let base = &module[..module.len() - depth];
                let first = match base.first() {
                    Some(top) => Some(top.clone()),
                    None => first_segment(after),
                };
                if let Some(first) = first {
                    named.push((number + 1, first));
                }
            }
            rest = after;
        }
    }
    named
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

#[test]
fn no_layer_imports_a_higher_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    let mut checked = 0;
    for file in files {
        let module = module_of(&src, &file);
        let Some(top) = module.first() else { continue };
        if ["lib", "main"].contains(&top.as_str()) {
            continue;
        }
        let (_, allowed) = ALLOWED
            .iter()
            .find(|(name, _)| name == top)
            .unwrap_or_else(|| panic!("src/{top}: a module the layering does not place"));
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for (line, named) in named_modules(&code, &module) {
            checked += 1;
            if named != *top && !allowed.contains(&named.as_str()) {
                let shown = file.strip_prefix(root).unwrap().display();
                upward.push(format!("{shown}:{line}: {top} names {named}"));
            }
        }
    }
    assert!(
        checked > 200,
        "only {checked} paths found: the reader is broken"
    );
    assert!(
        upward.is_empty(),
        "imports against the layering:\n{}",
        upward.join("\n")
    );
}

/// The reader itself: grouped imports, multi-line groups, `super::` chains and prose.
#[test]
fn the_reader_finds_every_form_of_path() {
    let module: Vec<String> = ["store", "sql", "users"].map(String::from).into();
    let code = code_only(
        "use crate::{http::error, model::{scopes::Scope, time}};\n\
         use crate::{\n    auth::Auth,\n    state,\n};\n\
         use super::super::memory;\n\
         // crate::http in a comment\n\
         let _ = \"crate::http in a string\";\n\
         crate::startup::run();\n",
    );
    let named: Vec<String> = named_modules(&code, &module)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    assert_eq!(
        named,
        ["http", "model", "auth", "state", "store", "startup"]
    );
}
