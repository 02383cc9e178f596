//! SQL written once, in the SQLite form the domain uses, rendered for
//! PostgreSQL. The rules are few and purely textual (outside string
//! literals and quoted names):
//!
//! | SQLite (as written)                    | PostgreSQL (as run)                       |
//! |----------------------------------------|-------------------------------------------|
//! | `?N`                                   | `$N`                                      |
//! | `:name` (named parameter)              | `$k`, `k` its first appearance            |
//! | `INSERT OR IGNORE INTO …`              | `INSERT INTO … ON CONFLICT DO NOTHING`    |
//! | `x IS ?N` / `x IS NOT ?N`              | `x IS NOT DISTINCT FROM $N` / `IS DISTINCT FROM` |
//! | `max(a, b)` / `min(a, b)` (scalar)     | `GREATEST(a, b)` / `LEAST(a, b)`          |
//! | `instr(a, b)`                          | `strpos(a, b)`                            |
//! | the type name `INTEGER` (`CAST(x AS INTEGER)`) | `BIGINT` (SQLite's integers are 64-bit) |
//!
//! Anything else that differs (full-text search, `PRAGMA`, `COLLATE NOCASE`)
//! is written twice, side by side in the one function that needs it. A
//! statement is rendered once per connection and kept with its prepared form.
//!
//! A parameter bound to `NULL` is written into the statement as `NULL`
//! ([`Rendered::sql_with_nulls`]): PostgreSQL cannot infer a type for
//! `$1 IS NULL OR col = $1`, and a literal `NULL` needs none.

/// A statement rendered for PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub sql: String,
    /// The named parameters in `$k` order (empty for positional ones).
    pub names: Vec<String>,
}

impl Rendered {
    /// The statement with parameter `$k` written as `NULL` wherever
    /// `nulls[k - 1]` is true.
    pub fn sql_with_nulls(&self, nulls: &[bool]) -> String {
        if !nulls.iter().any(|n| *n) {
            return self.sql.clone();
        }
        let b = self.sql.as_bytes();
        let mut out = String::with_capacity(self.sql.len());
        let mut i = 0;
        let mut quote: Option<u8> = None;
        let mut last = 0;
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'\'' || c == b'"' => quote = Some(c),
                None if c == b'$' => {
                    let mut j = i + 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let k: usize = self.sql[i + 1..j].parse().unwrap_or(0);
                    if k > 0 && nulls.get(k - 1).copied().unwrap_or(false) {
                        out.push_str(&self.sql[last..i]);
                        out.push_str("NULL");
                        last = j;
                    }
                    i = j;
                    continue;
                }
                None => {}
            }
            i += 1;
        }
        out.push_str(&self.sql[last..]);
        out
    }
}

/// Render `sql` (SQLite form) for PostgreSQL.
pub fn to_postgres(sql: &str) -> Rendered {
    let mut names: Vec<String> = Vec::new();
    let tokens = tokens(sql);
    let mut out = String::with_capacity(sql.len() + 16);
    let mut ignore = false;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match t {
            Tok::Param(n) => {
                out.push('$');
                out.push_str(n);
            }
            Tok::Named(n) => {
                let k = match names.iter().position(|x| x == n) {
                    Some(k) => k + 1,
                    None => {
                        names.push(n.clone());
                        names.len()
                    }
                };
                out.push('$');
                out.push_str(&k.to_string());
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("INSERT") && word_at(&tokens, i + 2, "OR") => {
                // INSERT OR IGNORE INTO → INSERT INTO (… ON CONFLICT DO NOTHING)
                if word_at(&tokens, i + 4, "IGNORE") {
                    ignore = true;
                    out.push_str(w);
                    i += 5; // skip " OR IGNORE"
                    continue;
                }
                out.push_str(w);
            }
            Tok::Word(w)
                if w.eq_ignore_ascii_case("IS")
                    && matches!(tokens.get(i + 2), Some(Tok::Param(_) | Tok::Named(_))) =>
            {
                out.push_str("IS NOT DISTINCT FROM");
            }
            Tok::Word(w)
                if w.eq_ignore_ascii_case("IS")
                    && word_at(&tokens, i + 2, "NOT")
                    && matches!(tokens.get(i + 4), Some(Tok::Param(_) | Tok::Named(_))) =>
            {
                out.push_str("IS DISTINCT FROM");
                i += 3; // skip " NOT"
                continue;
            }
            Tok::Word(w) if matches!(tokens.get(i + 1), Some(Tok::Other(c)) if c == "(") => {
                let lower = w.to_ascii_lowercase();
                match lower.as_str() {
                    "max" | "min" if top_level_commas(&tokens, i + 1) > 0 => {
                        out.push_str(if lower == "max" { "GREATEST" } else { "LEAST" })
                    }
                    "instr" => out.push_str("strpos"),
                    _ => out.push_str(w),
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("INTEGER") => out.push_str("BIGINT"),
            Tok::Word(w) if ignore && w.eq_ignore_ascii_case("RETURNING") => {
                out.push_str("ON CONFLICT DO NOTHING ");
                out.push_str(w);
                ignore = false;
            }
            Tok::Word(w) | Tok::Other(w) | Tok::Space(w) | Tok::Quoted(w) => out.push_str(w),
        }
        i += 1;
    }
    if ignore {
        let trimmed = out.trim_end().trim_end_matches(';').trim_end().len();
        out.truncate(trimmed);
        out.push_str(" ON CONFLICT DO NOTHING");
    }
    Rendered { sql: out, names }
}

#[derive(Debug)]
enum Tok {
    Word(String),
    Param(String),
    Named(String),
    Quoted(String),
    Space(String),
    Other(String),
}

fn word_at(tokens: &[Tok], i: usize, word: &str) -> bool {
    matches!(tokens.get(i), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
}

/// Commas at the top level of the parenthesis opened at `open`.
fn top_level_commas(tokens: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    let mut commas = 0;
    for t in &tokens[open..] {
        if let Tok::Other(c) = t {
            match c.as_str() {
                "(" => depth += 1,
                ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return commas;
                    }
                }
                "," if depth == 1 => commas += 1,
                _ => {}
            }
        }
    }
    commas
}

fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c == b'\'' || c == b'"' {
            i += 1;
            while i < b.len() {
                if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(Tok::Quoted(sql[start..i].to_string()));
        } else if c == b'?' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Param(sql[start + 1..i].to_string()));
        } else if c == b':'
            && (i == 0 || b[i - 1] != b':')
            && b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')
        {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Named(sql[start..i].to_string()));
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Word(sql[start..i].to_string()));
        } else if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push(Tok::Space(sql[start..i].to_string()));
        } else {
            // one character (a multi-byte one whole)
            i += sql[i..].chars().next().map_or(1, char::len_utf8);
            out.push(Tok::Other(sql[start..i].to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> String {
        to_postgres(sql).sql
    }

    #[test]
    fn positional_parameters_become_dollar_numbers() {
        assert_eq!(
            pg("SELECT a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = $12"
        );
    }

    #[test]
    fn named_parameters_are_numbered_by_first_appearance() {
        let r = to_postgres("SELECT x FROM t WHERE a = :who AND (b = :id OR c = :who)");
        assert_eq!(r.sql, "SELECT x FROM t WHERE a = $1 AND (b = $2 OR c = $1)");
        assert_eq!(r.names, vec![":who".to_string(), ":id".to_string()]);
    }

    #[test]
    fn string_literals_and_casts_are_left_alone() {
        assert_eq!(
            pg("SELECT 'is ?1 :x', \"max\" FROM t WHERE v::text = ?1"),
            "SELECT 'is ?1 :x', \"max\" FROM t WHERE v::text = $1"
        );
        assert_eq!(pg("SELECT 'it''s ?2' , ?2"), "SELECT 'it''s ?2' , $2");
    }

    #[test]
    fn insert_or_ignore_gets_on_conflict_do_nothing() {
        assert_eq!(
            pg("INSERT OR IGNORE INTO r (a, b) VALUES (?1, ?2)"),
            "INSERT INTO r (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            pg("insert or ignore into r (a) values (?1) returning a"),
            "insert into r (a) values ($1) ON CONFLICT DO NOTHING returning a"
        );
    }

    #[test]
    fn is_a_parameter_is_null_safe_equality() {
        assert_eq!(
            pg("(?1 = 0 OR g IS ?2) AND h IS NOT ?3 AND k IS NULL AND m IS NOT NULL"),
            "($1 = 0 OR g IS NOT DISTINCT FROM $2) AND h IS DISTINCT FROM $3 \
             AND k IS NULL AND m IS NOT NULL"
        );
    }

    #[test]
    fn scalar_max_and_min_become_greatest_and_least_but_aggregates_stay() {
        assert_eq!(
            pg("SELECT max(a, coalesce(b, 0)), MIN(x,y), max(id), min(f(a, b)) FROM t"),
            "SELECT GREATEST(a, coalesce(b, 0)), LEAST(x,y), max(id), min(f(a, b)) FROM t"
        );
        assert_eq!(pg("SELECT instr(a, 'x')"), "SELECT strpos(a, 'x')");
        assert_eq!(
            pg("SELECT CAST(value AS INTEGER) FROM kv"),
            "SELECT CAST(value AS BIGINT) FROM kv"
        );
    }

    #[test]
    fn a_null_parameter_is_written_as_null() {
        let r = to_postgres("SELECT a FROM t WHERE (?1 IS NULL OR s = ?1) AND n = ?2 AND x = '$1'");
        assert_eq!(
            r.sql_with_nulls(&[true, false]),
            "SELECT a FROM t WHERE (NULL IS NULL OR s = NULL) AND n = $2 AND x = '$1'"
        );
        assert_eq!(r.sql_with_nulls(&[false, false]), r.sql);
        let r = to_postgres("SELECT ?1, ?10, ?11");
        let mut nulls = vec![false; 11];
        nulls[0] = true;
        assert_eq!(r.sql_with_nulls(&nulls), "SELECT NULL, $10, $11");
    }
}
