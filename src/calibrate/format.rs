//! A log format string compiled once into literal and field pieces, and a
//! line matched against it without allocating: each field comes back as a
//! byte range. HAProxy's `log-format` and Nginx's `log_format` both compile
//! to this; their variable names map to a field kind each.

/// One piece of a compiled format.
#[derive(Debug, Clone)]
pub enum Piece<K> {
    /// Text the line must contain here.
    Lit(Vec<u8>),
    /// A variable.
    Field(FieldSpec<K>),
}

/// A variable and how its value is delimited.
#[derive(Debug, Clone)]
pub struct FieldSpec<K> {
    /// What the field holds.
    pub kind: K,
    /// A list that may hold `, ` and ` : ` inside (Nginx's upstream
    /// variables after a retry or an internal redirect).
    pub list: bool,
    /// Written between braces when present and omitted when empty
    /// (HAProxy's captured headers `%hr`, `%hs`).
    pub braced: bool,
    /// Written between double quotes (HAProxy's `%{+Q}`).
    pub quoted: bool,
}

/// A compiled format.
#[derive(Debug, Clone)]
pub struct Format<K> {
    pieces: Vec<Piece<K>>,
    /// HAProxy collapses the separator after an empty field: a literal of
    /// spaces then matches zero or more spaces.
    collapse_spaces: bool,
}

/// A byte range of the line, `start..end`.
pub type Span = (u32, u32);

impl<K: Copy + Into<usize>> Format<K> {
    /// A format of `pieces`; fails when two fields touch, since nothing would
    /// say where one ends.
    pub fn new(pieces: Vec<Piece<K>>, collapse_spaces: bool) -> Result<Format<K>, String> {
        for w in pieces.windows(2) {
            if let [Piece::Field(_), Piece::Field(b)] = w
                && !b.braced
            {
                return Err(
                    "two variables with nothing between them: a line could not be split".into(),
                );
            }
        }
        Ok(Format {
            pieces,
            collapse_spaces,
        })
    }

    /// Whether any field has this kind.
    pub fn has(&self, kind: K) -> bool {
        let k: usize = kind.into();
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Field(f) if f.kind.into() == k))
    }

    /// Matches `line`, writing each field's span into `out` (indexed by its
    /// kind); false when the line does not have the format's shape.
    pub fn parse(&self, line: &[u8], out: &mut [Option<Span>]) -> bool {
        out.iter_mut().for_each(|o| *o = None);
        let mut pos = 0usize;
        for (i, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Lit(l) => {
                    if self.collapse_spaces && l.iter().all(|&c| c == b' ') {
                        while line.get(pos) == Some(&b' ') {
                            pos += 1;
                        }
                    } else if line[pos..].starts_with(l) {
                        pos += l.len();
                    } else {
                        return false;
                    }
                }
                Piece::Field(f) => {
                    let Some((start, end, next)) =
                        self.field_end(line, pos, f, self.pieces.get(i + 1))
                    else {
                        return false;
                    };
                    let k: usize = f.kind.into();
                    if let Some(slot) = out.get_mut(k) {
                        *slot = Some((start as u32, end as u32));
                    }
                    pos = next;
                }
            }
        }
        true
    }

    /// Where a field starting at `pos` ends: (value start, value end, next
    /// position).
    fn field_end(
        &self,
        line: &[u8],
        pos: usize,
        f: &FieldSpec<K>,
        next: Option<&Piece<K>>,
    ) -> Option<(usize, usize, usize)> {
        if f.braced {
            if line.get(pos) == Some(&b'{') {
                let close = pos + line[pos..].iter().position(|&c| c == b'}')?;
                return Some((pos + 1, close, close + 1));
            }
            return Some((pos, pos, pos));
        }
        if f.quoted && line.get(pos) == Some(&b'"') {
            let close = pos + 1 + line[pos + 1..].iter().position(|&c| c == b'"')?;
            return Some((pos + 1, close, close + 1));
        }
        let lit = match next {
            Some(Piece::Lit(l)) => l.as_slice(),
            _ => return Some((pos, line.len(), line.len())),
        };
        let lit = if self.collapse_spaces && lit.iter().all(|&c| c == b' ') {
            &b" "[..]
        } else {
            lit
        };
        let mut from = pos;
        loop {
            let at = from + find(&line[from..], lit)?;
            if f.list && lit[0] == b' ' {
                // `0.002, 0.004` and `0.002 : 0.004` are one value.
                if at > pos && line[at - 1] == b',' {
                    from = at + 1;
                    continue;
                }
                if line[at + 1..].starts_with(b": ") {
                    from = at + 3;
                    continue;
                }
            }
            return Some((pos, at, at));
        }
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut i = 0;
    while let Some(p) = hay[i..].iter().position(|&c| c == first) {
        let at = i + p;
        if hay[at + 1..].starts_with(rest) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// The text of a span.
pub fn get(line: &[u8], span: Option<Span>) -> Option<&[u8]> {
    span.map(|(a, b)| &line[a as usize..b as usize])
}
