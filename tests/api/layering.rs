//! The layering the README describes, checked on the sources: `model/` ← `store/` ← `auth/`
//! ← `http/`. An import that runs upward fails here, naming the file and line.

use std::path::Path;

/// For each layer, the crate paths its files must never name.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "src/model",
        &[
            "crate::store",
            "crate::auth",
            "crate::http",
            "crate::state",
            "crate::startup",
        ],
    ),
    (
        "src/store",
        &[
            "crate::auth",
            "crate::http",
            "crate::state",
            "crate::startup",
        ],
    ),
    (
        "src/auth",
        &["crate::http", "crate::state", "crate::startup"],
    ),
];

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_layer_imports_a_higher_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut upward = Vec::new();
    for (layer, forbidden) in FORBIDDEN {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        assert!(!files.is_empty(), "{layer} has no sources");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                if let Some(path) = forbidden.iter().find(|path| line.contains(*path)) {
                    let shown = file.strip_prefix(root).unwrap().display();
                    upward.push(format!("{shown}:{}: names {path}", number + 1));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layering:\n{}",
        upward.join("\n")
    );
}
