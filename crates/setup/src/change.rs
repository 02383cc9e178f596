//! A planned change to one file: what it holds now, what it will hold, a diff a
//! person can read, and a careful write (backup first, atomic rename, the
//! file's permissions kept, and no write over a file that changed meanwhile).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::SetupError;

/// Suffix of the backup kept beside a changed file (the file as it was before
/// claude-peers last changed it).
pub const BACKUP_SUFFIX: &str = ".claude-peers-backup";

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    /// The content now; `None` when the file does not exist.
    pub before: Option<String>,
    /// The content wanted; `None` to delete the file.
    pub after: Option<String>,
    /// Mode of the file when it is created.
    pub new_mode: u32,
    /// What changes, in words ("add MCP server claude-peers").
    pub summary: Vec<String>,
}

impl FileChange {
    /// The change from `before` to a transform's result `(text, summary)`: no
    /// change when the summary is empty; a new file ends with a newline; the
    /// file is deleted when `delete(text)` says what is left is nothing.
    pub fn plan(
        path: PathBuf,
        before: Option<String>,
        (mut text, summary): (String, Vec<String>),
        new_mode: u32,
        delete: impl Fn(&str) -> bool,
    ) -> Self {
        if before.is_none() && !text.ends_with('\n') {
            text.push('\n');
        }
        let after = if summary.is_empty() {
            before.clone()
        } else if delete(&text) {
            None
        } else {
            Some(text)
        };
        Self {
            path,
            before,
            after,
            new_mode,
            summary,
        }
    }

    /// Whether applying it would change nothing.
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }

    /// A unified diff of the change (empty when nothing changes).
    pub fn diff(&self) -> String {
        if self.is_noop() {
            return String::new();
        }
        let name = self.path.display().to_string();
        let old = self.before.as_deref().unwrap_or("");
        let new = self.after.as_deref().unwrap_or("");
        let old_header = if self.before.is_some() {
            name.clone()
        } else {
            "/dev/null".into()
        };
        let new_header = if self.after.is_some() {
            name
        } else {
            "/dev/null".into()
        };
        similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .missing_newline_hint(true)
            .header(&old_header, &new_header)
            .to_string()
    }

    /// The backup path of `path`.
    pub fn backup_path(path: &Path) -> PathBuf {
        let mut s = path.as_os_str().to_os_string();
        s.push(BACKUP_SUFFIX);
        PathBuf::from(s)
    }

    /// Write the change. Returns the backup made (when the file existed).
    pub fn apply(&self) -> Result<Option<PathBuf>, SetupError> {
        if self.is_noop() {
            return Ok(None);
        }
        let file = self.path.display().to_string();
        let werr = |source: std::io::Error| SetupError::Write {
            file: file.clone(),
            source,
        };
        // Follow a symlink (dotfile managers), so the link stays a link.
        let target = fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let now = match fs::read_to_string(&target) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(SetupError::Read {
                    file: file.clone(),
                    source,
                });
            }
        };
        if now != self.before {
            return Err(werr(std::io::Error::other(
                "it changed while claude-peers was editing it; run the command again",
            )));
        }
        let backup = match &self.before {
            Some(_) => {
                let b = Self::backup_path(&self.path);
                // fs::copy keeps the permissions (~/.claude.json is private).
                fs::copy(&target, &b).map_err(werr)?;
                Some(b)
            }
            None => None,
        };
        let Some(after) = &self.after else {
            fs::remove_file(&target).map_err(werr)?;
            return Ok(backup);
        };
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(werr)?;
        let mode = match fs::metadata(&target) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(_) => self.new_mode,
        };
        let tmp = dir.join(format!(
            ".{}.claude-peers-tmp{}",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let written = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(mode)
                .open(&tmp)?;
            f.write_all(after.as_bytes())?;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            f.sync_all()?;
            fs::rename(&tmp, &target)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(werr(e));
        }
        Ok(backup)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: PathBuf, before: Option<&str>, after: Option<&str>) -> FileChange {
        FileChange {
            path,
            before: before.map(str::to_string),
            after: after.map(str::to_string),
            new_mode: 0o600,
            summary: vec![],
        }
    }

    #[test]
    fn apply_keeps_a_backup_and_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        fs::write(&p, "{}\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let c = change(p.clone(), Some("{}\n"), Some("{\"a\": 1}\n"));
        assert!(c.diff().contains("+{\"a\": 1}"), "{}", c.diff());
        let backup = c.apply().unwrap().unwrap();
        assert_eq!(fs::read_to_string(&backup).unwrap(), "{}\n");
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\"a\": 1}\n");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let bmode = fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(bmode, 0o640);
    }

    #[test]
    fn a_file_changed_meanwhile_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        fs::write(&p, "{\"other\": 2}").unwrap();
        let e = change(p.clone(), Some("{}"), Some("{\"a\": 1}"))
            .apply()
            .unwrap_err();
        assert!(e.to_string().contains("changed while"), "{e}");
        assert_eq!(fs::read_to_string(&p).unwrap(), "{\"other\": 2}");
    }

    #[test]
    fn a_symlink_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        fs::write(&real, "{}").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        change(link.clone(), Some("{}"), Some("{\"a\": 1}"))
            .apply()
            .unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "{\"a\": 1}");
    }

    #[test]
    fn new_files_get_the_new_mode_and_deletes_keep_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/new.json");
        assert_eq!(change(p.clone(), None, Some("{}")).apply().unwrap(), None);
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let backup = change(p.clone(), Some("{}"), None)
            .apply()
            .unwrap()
            .unwrap();
        assert!(!p.exists());
        assert_eq!(fs::read_to_string(backup).unwrap(), "{}");
    }
}
