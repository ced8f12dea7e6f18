//! Located problems in a scenario file, rendered like compiler errors.

use std::fmt;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// One problem in a scenario: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Byte range of the offending value in the source.
    pub span: Range<usize>,
    /// The dotted key path (`tier.web.workers`), or empty for syntax errors.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug)]
pub struct ScenarioError {
    /// The path shown in messages.
    pub path: String,
    /// The source text, for carets.
    pub source: String,
    /// The command-line overrides applied, as typed (`--set KEY=VALUE`); a diagnostic whose
    /// span lies past the end of the source points at one of them.
    pub overrides: Vec<String>,
    /// The problems in source order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// `(line, column)`, both 1-based, of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(&self.source, offset)
    }

    /// Renders every diagnostic with file:line:column, a caret and the hint.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for d in &self.diagnostics {
            if let Some(i) = d.span.start.checked_sub(self.source.len() + 1) {
                // From a --set override: there is no file text to point at.
                let ov = self.overrides.get(i).map_or("?", String::as_str);
                let title = format!("`{}`: {}", d.key, d.message);
                let mut groups = vec![
                    Level::ERROR
                        .primary_title(title)
                        .element(Level::NOTE.message(format!("from the command line: {ov}"))),
                ];
                if let Some(h) = &d.hint {
                    groups.push(Group::with_title(Level::HELP.secondary_title(h.as_str())));
                }
                out.push_str(&renderer.render(&groups));
                out.push_str("\n\n");
                continue;
            }
            let span = clamp_span(&self.source, d.span.clone());
            let title = if d.key.is_empty() {
                d.message.clone()
            } else {
                format!("`{}`: {}", d.key, d.message)
            };
            let mut groups = vec![
                Level::ERROR.primary_title(title).element(
                    Snippet::source(self.source.as_str())
                        .path(self.path.as_str())
                        .annotation(AnnotationKind::Primary.span(span).label(d.message.as_str())),
                ),
            ];
            if let Some(h) = &d.hint {
                groups.push(Group::with_title(Level::HELP.secondary_title(h.as_str())));
            }
            out.push_str(&renderer.render(&groups));
            out.push_str("\n\n");
        }
        let n = self.diagnostics.len();
        out.push_str(&format!(
            "error: {} has {n} problem{}; nothing was run\n",
            self.path,
            if n == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            if let Some(i) = d.span.start.checked_sub(self.source.len() + 1) {
                let ov = self.overrides.get(i).map_or("?", String::as_str);
                writeln!(f, "{ov}: {}: {}", d.key, d.message)?;
                continue;
            }
            let (l, c) = self.line_col(d.span.start);
            writeln!(f, "{}:{l}:{c}: {}: {}", self.path, d.key, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Keeps a span inside the text and on character boundaries, never empty
/// unless the text is.
fn clamp_span(src: &str, span: Range<usize>) -> Range<usize> {
    let mut s = span.start.min(src.len());
    let mut e = span.end.min(src.len()).max(s);
    while s > 0 && !src.is_char_boundary(s) {
        s -= 1;
    }
    while e < src.len() && !src.is_char_boundary(e) {
        e += 1;
    }
    if s == e && e < src.len() {
        e += src[e..].chars().next().map_or(0, char::len_utf8);
    }
    s..e
}

/// `(line, column)`, both 1-based, of a byte offset; columns count characters.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The candidate closest to `word` by edit distance, if close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        assert_eq!(
            did_you_mean("wokers", &["workers", "queue"]),
            Some("workers")
        );
        assert_eq!(did_you_mean("xyz", &["workers", "queue"]), None);
    }

    #[test]
    fn line_and_column() {
        let s = "a = 1\nbb = 2\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(line_col(s, 11), (2, 6));
        assert_eq!(line_col(s, 999), (3, 1));
    }

    #[test]
    fn renders_location_caret_and_hint() {
        let e = ScenarioError {
            path: "s.toml".into(),
            source: "[simulation]\nduration = \"5\"\n".into(),
            overrides: Vec::new(),
            diagnostics: vec![Diagnostic {
                span: 24..27,
                key: "simulation.duration".into(),
                message: "no unit".into(),
                hint: Some("write \"5s\"".into()),
            }],
        };
        let text = e.render(false);
        assert!(text.contains("s.toml:2:12"), "{text}");
        assert!(text.contains("^^^"), "{text}");
        assert!(text.contains("write \"5s\""), "{text}");
        assert!(text.contains("1 problem;"), "{text}");
    }
}
