//! The layout of a test directory whose files are the modules of one test
//! binary.

use std::path::Path;

/// Panics, naming them, when a `.rs` file of `dir` other than the crate
/// root `root` is not declared in `root_text` (the root's source) as
/// `mod NAME;` on a line of its own. With Cargo's discovery of test files
/// off (`autotests = false`), such a file would never be built or run.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("testkit-layout-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("main.rs"), "mod a;\n")?;
/// std::fs::write(dir.join("a.rs"), "")?;
/// s3torrent_testkit::every_file_is_a_module(&dir, "main.rs", "mod a;\n");
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn every_file_is_a_module(dir: &Path, root: &str, root_text: &str) {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let name = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".rs")
            && name != root
            && !root_text
                .lines()
                .any(|l| l.trim() == format!("mod {stem};"))
        {
            missing.push(name.into_owned());
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "{}: not modules of {root} (add `mod NAME;` there): {missing:?}",
        dir.display()
    );
}
