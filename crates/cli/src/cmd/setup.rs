//! `install` and `uninstall`: plan every client's file changes first (so a file
//! that cannot be read stops everything before anything is written), print them
//! as diffs, and apply them unless `--dry-run`.

use anyhow::{Context, Result, bail};
use claude_peers_setup::{AgentClient, FileChange, Host, Scope, all_clients, client_by_id};
use serde_json::json;

/// Options of `install` and `uninstall`.
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// A client to act on (repeatable): claude-code, codex, gemini, opencode.
    /// Default: every client found on this machine (for uninstall: every client).
    #[arg(long = "client", value_name = "CLIENT")]
    pub clients: Vec<String>,
    /// Where to register the MCP server: `user` (every project) or `project`
    /// (the current directory's `.mcp.json`). Hooks always go to the user's settings.
    #[arg(long, value_enum, default_value = "user")]
    pub scope: ScopeArg,
    /// Print the exact change without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    User,
    Project,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::User => Scope::User,
            ScopeArg::Project => Scope::Project,
        }
    }
}

/// The host of this process, registering this very binary.
pub fn host() -> Result<Host> {
    let exe = std::env::current_exe().context("cannot find the claude-peers executable")?;
    Host::from_env(exe).context("cannot read the environment (HOME, current directory)")
}

fn chosen(args: &SetupArgs, host: &Host, install: bool) -> Result<Vec<&'static dyn AgentClient>> {
    if !args.clients.is_empty() {
        let mut out: Vec<&'static dyn AgentClient> = Vec::new();
        for id in &args.clients {
            let c = client_by_id(id)?;
            if !out.iter().any(|o| o.id() == c.id()) {
                out.push(c);
            }
        }
        return Ok(out);
    }
    if !install {
        return Ok(all_clients().to_vec());
    }
    let found: Vec<_> = all_clients()
        .iter()
        .copied()
        .filter(|c| c.detect(host))
        .filter(|c| {
            let keep = args.scope == ScopeArg::User || c.has_project_scope();
            if !keep {
                eprintln!(
                    "{}: skipped: it has no project-scope configuration (use --scope user)",
                    c.id()
                );
            }
            keep
        })
        .collect();
    if found.is_empty() {
        let known: Vec<_> = all_clients().iter().map(|c| c.id()).collect();
        bail!(
            "no agent client found on this machine (looked for: {}); name one with --client, e.g. `claude-peers install --client claude-code`",
            known.join(", ")
        );
    }
    Ok(found)
}

/// `claude-peers install` / `uninstall`.
pub fn run(args: &SetupArgs, json_out: bool, install: bool) -> Result<()> {
    let host = host()?;
    let scope: Scope = args.scope.into();
    let mut plans: Vec<(&'static dyn AgentClient, Vec<FileChange>)> = Vec::new();
    for client in chosen(args, &host, install)? {
        let changes = if install {
            client.install(&host, scope)
        } else {
            client.uninstall(&host, scope)
        }
        .with_context(|| format!("{}: nothing was changed", client.id()))?;
        plans.push((client, changes));
    }
    let mut report = Vec::new();
    for (client, changes) in &plans {
        let mut files = Vec::new();
        for change in changes.iter().filter(|c| !c.is_noop()) {
            let backup = if args.dry_run {
                None
            } else {
                change
                    .apply()
                    .with_context(|| format!("{}: {}", client.id(), host.show(&change.path)))?
            };
            files.push((change, backup));
        }
        report.push((client, files));
    }
    let verb = if install { "install" } else { "uninstall" };
    if json_out {
        let clients: Vec<_> = report
            .iter()
            .map(|(client, files)| {
                json!({
                    "client": client.id(),
                    "changed": !files.is_empty(),
                    "notes": if install { client.install_notes(&host, scope) } else { vec![] },
                    "files": files.iter().map(|(c, backup)| json!({
                        "file": c.path,
                        "summary": c.summary,
                        "diff": c.diff(),
                        "deleted": c.after.is_none(),
                        "backup": backup,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "action": verb,
                "dry_run": args.dry_run,
                "scope": match scope { Scope::User => "user", Scope::Project => "project" },
                "clients": clients,
            }))?
        );
        return Ok(());
    }
    for (client, files) in &report {
        if files.is_empty() {
            println!(
                "{}: {}; nothing to change.",
                client.id(),
                if install {
                    "already installed"
                } else {
                    "nothing of claude-peers found"
                }
            );
            continue;
        }
        let how = if args.dry_run {
            "would change (dry run, nothing written)"
        } else {
            "changed"
        };
        println!("{}: {verb} {how}:", client.id());
        for (change, backup) in files {
            let what = if change.after.is_none() {
                "delete the file (nothing else left in it)".to_string()
            } else {
                change.summary.join(", ")
            };
            println!("  {}: {what}", host.show(&change.path));
            if let Some(b) = backup {
                println!("    backup of the previous version: {}", host.show(b));
            }
        }
        println!();
        for (change, _) in files {
            print!("{}", change.diff());
        }
    }
    if install {
        for (client, _) in &report {
            for note in client.install_notes(&host, scope) {
                println!("{}: note: {note}", client.id());
            }
        }
    }
    if install && !args.dry_run && report.iter().any(|(_, f)| !f.is_empty()) {
        println!("\nDone. Start (or restart) the client; `claude-peers doctor` checks everything.");
    }
    Ok(())
}
