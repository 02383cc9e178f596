//! What the session's directory says about itself: repository, branch, recent
//! files, terminal. Gathered by running `git` and `ps`, in the background: a
//! send never waits for them (it uses the last snapshot).

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::process::Command;

/// Repository facts of a directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoInfo {
    pub root: Option<String>,
    /// The common git directory: shared by all worktrees of one repository.
    pub common_dir: Option<String>,
    /// `None` when not on a branch (detached HEAD) or not in a repository.
    pub branch: Option<String>,
}

async fn run(cwd: &Path, args: &[&str]) -> Option<String> {
    let out = tokio::time::timeout(
        Duration::from_secs(3),
        Command::new("git")
            .args(args)
            .current_dir(cwd)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Root and common dir from `git rev-parse`, the branch from `git symbolic-ref`
/// (run together). The branch is read from `HEAD` itself, so a repository with
/// no commit yet (right after `git init`) has its branch too; `rev-parse HEAD`
/// fails there.
pub async fn repo_info(cwd: &Path) -> RepoInfo {
    let (paths, branch) = tokio::join!(
        run(
            cwd,
            &[
                "rev-parse",
                "--path-format=absolute",
                "--show-toplevel",
                "--git-common-dir",
            ],
        ),
        // Exit code 1 (no output) when HEAD is detached.
        run(cwd, &["symbolic-ref", "--short", "-q", "HEAD"]),
    );
    let Some(out) = paths else {
        return RepoInfo::default();
    };
    let mut lines = out.lines().map(str::trim);
    let root = lines.next().filter(|s| !s.is_empty()).map(str::to_string);
    let common = lines.next().filter(|s| !s.is_empty()).map(|c| {
        std::fs::canonicalize(c)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| c.to_string())
    });
    let branch = branch
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty() && *b != "HEAD")
        .map(str::to_string);
    RepoInfo {
        root,
        common_dir: common,
        branch,
    }
}

/// Files changed against HEAD, then files of the last five commits, without
/// repeats, at most `limit`.
pub async fn recent_files(cwd: &Path, limit: usize) -> Vec<String> {
    fn push(files: &mut Vec<String>, s: &str, limit: usize) {
        for l in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if files.len() < limit && !files.iter().any(|f| f == l) {
                files.push(l.to_string());
            }
        }
    }
    let mut files: Vec<String> = Vec::new();
    if let Some(out) = run(cwd, &["diff", "--name-only", "HEAD"]).await {
        push(&mut files, &out, limit);
    }
    if files.len() < limit
        && let Some(out) = run(cwd, &["log", "--name-only", "-5", "--format="]).await
    {
        push(&mut files, &out, limit);
    }
    files
}

/// The terminal of process `pid` (`ps -o tty=`), if it has one.
pub async fn tty_of(pid: u32) -> Option<String> {
    let out = tokio::time::timeout(
        Duration::from_secs(2),
        Command::new("ps")
            .args(["-o", "tty=", "-p", &pid.to_string()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    let tty = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!tty.is_empty() && tty != "?" && tty != "??").then_some(tty)
}

/// A snapshot with the time it was taken.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub branch: Option<String>,
    pub recent_files: Vec<String>,
    pub taken: Instant,
}
