//! The files a Codex `apply_patch` call changes, read from its patch text
//! (the hook's `tool_input.command`): the paths after `*** Add File: `,
//! `*** Update File: `, `*** Delete File: ` and `*** Move to: `, in order,
//! each once. Paths are as the patch names them (relative to the session's
//! directory, or absolute).

/// The headers that name a file in Codex's patch format.
const FILE_HEADERS: [&str; 4] = [
    "*** Add File: ",
    "*** Update File: ",
    "*** Delete File: ",
    "*** Move to: ",
];

/// At most this many files are taken from one patch (a patch naming more is
/// unusual; the guard reports the first ones).
pub const MAX_PATCH_FILES: usize = 64;

/// The files `patch` changes.
pub fn files(patch: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in patch.lines() {
        let line = line.trim_end_matches('\r');
        let Some(path) = FILE_HEADERS.iter().find_map(|h| line.strip_prefix(h)) else {
            continue;
        };
        let path = path.trim();
        if path.is_empty() || out.iter().any(|p| p == path) {
            continue;
        }
        out.push(path.to_string());
        if out.len() == MAX_PATCH_FILES {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_file_of_a_patch_once() {
        let patch = "*** Begin Patch\n*** Add File: hello.txt\n+Hello world\n*** Update File: src/app.py\n*** Move to: src/main.py\n@@ def greet():\n-print(\"Hi\")\n+print(\"*** Add File: not-a-header\")\n*** Delete File: obsolete.txt\n*** Update File: hello.txt\n@@\n-a\n+b\n*** End Patch\n";
        assert_eq!(
            files(patch),
            ["hello.txt", "src/app.py", "src/main.py", "obsolete.txt"]
        );
        assert!(files("echo hi").is_empty());
        assert!(files("*** Update File:   \n").is_empty());
    }

    #[test]
    fn a_huge_patch_is_cut_at_the_limit() {
        let patch: String = (0..MAX_PATCH_FILES + 5)
            .map(|i| format!("*** Add File: f{i}\n+x\n"))
            .collect();
        assert_eq!(files(&patch).len(), MAX_PATCH_FILES);
    }
}
