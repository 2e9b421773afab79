//! The committed shell completions and man pages must be what the code generates.
//! Regenerate with: `UPDATE_GENERATED=1 cargo test --test generated`.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;
use pantheon_metrics::cli::Cli;

fn check(path: &Path, fresh: &[u8], stale: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, fresh).unwrap();
        return;
    }
    match std::fs::read(path) {
        Ok(committed) if committed == fresh => {}
        _ => stale.push(path.display().to_string()),
    }
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (shell, file) in [
        (Shell::Bash, "pantheon-metrics.bash"),
        (Shell::Zsh, "_pantheon-metrics"),
        (Shell::Fish, "pantheon-metrics.fish"),
        (Shell::PowerShell, "_pantheon-metrics.ps1"),
        (Shell::Elvish, "pantheon-metrics.elv"),
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "pantheon-metrics", &mut out);
        check(&root.join("completions").join(file), &out, &mut stale);
    }
    let dir = tempfile::tempdir().unwrap();
    pantheon_metrics::commands::write_man_pages(dir.path()).unwrap();
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert!(pages.len() >= 6, "one page per command: {pages:?}");
    for page in pages {
        let fresh = std::fs::read(&page).unwrap();
        check(
            &root.join("man").join(page.file_name().unwrap()),
            &fresh,
            &mut stale,
        );
    }
    assert!(
        stale.is_empty(),
        "generated files differ from the code: {stale:?}; run UPDATE_GENERATED=1 cargo test --test generated"
    );
}
