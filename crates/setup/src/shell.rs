//! The hook command line: the binary's path quoted for a shell, and the reverse
//! (to recognise our own hooks whatever path they were installed from).

/// `s` as one shell word: unchanged when it holds only safe characters, else in
/// single quotes (a quote inside becomes `'\''`).
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Split a simple command line into words (single and double quotes, backslash
/// escapes). `None` when the quotes do not close.
pub fn split(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_and_split_round_trip() {
        for path in [
            "/usr/local/bin/claude-peers",
            "/home/a b/bin/claude-peers",
            "/tmp/it's/claude-peers",
            "/x/$HOME/`c`",
        ] {
            let line = format!("{} hook Stop", quote(path));
            assert_eq!(split(&line).unwrap(), vec![path, "hook", "Stop"], "{line}");
        }
        assert_eq!(quote("/usr/bin/claude-peers"), "/usr/bin/claude-peers");
        assert_eq!(quote("/a b"), "'/a b'");
        assert_eq!(split("'open"), None);
    }
}
