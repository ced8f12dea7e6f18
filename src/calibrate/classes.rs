//! Request classes by method and path pattern: `read='GET *'`,
//! `write='POST /api/*'`. The first rule that matches names the class.

/// One `--class NAME='METHOD PATTERN'` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRule {
    /// Class name.
    pub name: String,
    /// Methods (`GET|HEAD`), or `*` for any.
    pub methods: Vec<String>,
    /// Path glob: `*` matches any run of characters.
    pub path: String,
}

impl ClassRule {
    /// Parses `NAME=METHODS PATTERN` (`read=GET|HEAD *`; the pattern is
    /// optional and defaults to `*`).
    pub fn parse(text: &str) -> Result<ClassRule, String> {
        let (name, rule) = text.split_once('=').ok_or(format!(
            "`{text}`: expected NAME='METHOD PATTERN', e.g. read='GET *'"
        ))?;
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "`{name}` is not a class name (letters, digits, - and _)"
            ));
        }
        let mut parts = rule.split_whitespace();
        let methods: Vec<String> = parts
            .next()
            .ok_or(format!("`{text}`: the rule has no method (use * for any)"))?
            .split('|')
            .map(|m| m.to_ascii_uppercase())
            .collect();
        let path = parts.next().unwrap_or("*").to_string();
        if parts.next().is_some() {
            return Err(format!(
                "`{text}`: expected one method list and one path pattern"
            ));
        }
        Ok(ClassRule {
            name: name.to_string(),
            methods,
            path,
        })
    }

    /// Whether a request matches.
    pub fn matches(&self, method: &[u8], path: &[u8]) -> bool {
        (self
            .methods
            .iter()
            .any(|m| m == "*" || m.as_bytes().eq_ignore_ascii_case(method)))
            && glob(self.path.as_bytes(), path)
    }

    /// `read` when every method the rule takes only reads.
    pub fn reads_only(&self) -> bool {
        self.methods
            .iter()
            .all(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS"))
    }
}

/// The default classes: `read` is GET and HEAD, `write` everything else.
pub fn default_rules() -> Vec<ClassRule> {
    vec![
        ClassRule {
            name: "read".into(),
            methods: vec!["GET".into(), "HEAD".into()],
            path: "*".into(),
        },
        ClassRule {
            name: "write".into(),
            methods: vec!["*".into()],
            path: "*".into(),
        },
    ]
}

/// Glob match with `*` only (iterative, with one backtrack point).
pub fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if p < pat.len() && pat[p] == s[i] {
            p += 1;
            i += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

/// The class index of a request, or `None` when no rule matches.
pub fn classify(rules: &[ClassRule], method: &[u8], path: &[u8]) -> Option<usize> {
    rules.iter().position(|r| r.matches(method, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"*", b"/x"));
        assert!(glob(b"/item/*", b"/item/12"));
        assert!(!glob(b"/item/*", b"/items"));
        assert!(glob(b"*.css", b"/a/b.css"));
        assert!(glob(b"/a*b*c", b"/aXXbYYc"));
        assert!(!glob(b"/a*b*c", b"/aXXbYY"));
    }

    #[test]
    fn rules_parse_and_match() {
        let r = ClassRule::parse("page=GET|HEAD /item/*").unwrap();
        assert!(r.matches(b"get", b"/item/3"));
        assert!(!r.matches(b"POST", b"/item/3"));
        assert!(r.reads_only());
        assert!(ClassRule::parse("no rule").is_err());
        assert!(ClassRule::parse("x=GET a b").is_err());
        let d = default_rules();
        assert_eq!(classify(&d, b"HEAD", b"/"), Some(0));
        assert_eq!(classify(&d, b"DELETE", b"/x"), Some(1));
    }
}
