//! The docs cannot drift: every output block in README.md and docs/ marked
//! `<!-- output of: ARGS -->` is what `stacksim ARGS` prints today. A block
//! may be an excerpt (the lines it quotes must each be a line of the
//! output, in order; a line `...` or `  ...` stands for lines left out).

use std::path::Path;
use std::process::Command;

use crate::support::root;

/// `ARGS` split as a shell would split plain words and "double-quoted" ones.
fn words(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in args.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every marked block of `file`: its line, the command's words and the
/// quoted lines.
fn marked_blocks(file: &Path) -> Vec<(usize, Vec<String>, Vec<String>)> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(args) = l
            .trim()
            .strip_prefix("<!-- output of: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        assert!(
            lines.get(i + 1).is_some_and(|n| n.starts_with("```")),
            "{}:{}: the marker must stand right above a ``` block",
            file.display(),
            i + 1
        );
        let body: Vec<String> = lines[i + 2..]
            .iter()
            .take_while(|b| !b.starts_with("```"))
            .map(|b| b.to_string())
            .collect();
        out.push((i + 1, words(args), body));
    }
    out
}

#[test]
fn every_quoted_output_is_what_the_command_prints() {
    let mut files = vec![root().join("README.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            files.push(e.path());
        }
    }
    files.sort();
    let mut checked = 0;
    for file in &files {
        for (line, args, quoted) in marked_blocks(file) {
            let o = Command::new(env!("CARGO_BIN_EXE_stacksim"))
                .args(&args)
                .current_dir(root())
                .env("NO_COLOR", "1")
                .env_remove("RAYON_NUM_THREADS")
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{}:{line}: stacksim {args:?} failed",
                file.display()
            );
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            let out: Vec<&str> = printed.lines().map(str::trim_end).collect();
            // Each quoted line, in order, is a line of the output.
            let mut at = 0;
            for q in quoted.iter().map(|q| q.trim_end()) {
                if q.is_empty() || q.trim() == "..." {
                    continue;
                }
                match out[at..].iter().position(|l| *l == q) {
                    Some(k) => at += k + 1,
                    None => panic!(
                        "{}:{line}: `stacksim {}` no longer prints (in this order):\n{q}\n\nit prints:\n{printed}",
                        file.display(),
                        args.join(" ")
                    ),
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} marked blocks");
}

#[test]
fn words_split_as_a_shell_would() {
    assert_eq!(
        words(r#"capacity f.toml --slo "p99<100ms"  -q"#),
        ["capacity", "f.toml", "--slo", "p99<100ms", "-q"]
    );
}
