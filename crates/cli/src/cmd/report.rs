//! `report` (the session report, or the export of its messages) and
//! `new-session`.

use anyhow::Result;

use crate::ctx::{Ctx, explain};

/// Print the markdown report of the current session (or `session`), or with
/// `export` its messages as text.
pub async fn report(ctx: &Ctx, session: Option<&str>, export: bool) -> Result<()> {
    let admin = ctx.admin()?;
    let text = if export {
        admin.session_export(session).await
    } else {
        admin.session_report(session).await
    }
    .map_err(|e| explain(e, ctx))?;
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// Begin a new session now.
pub async fn new_session(ctx: &Ctx) -> Result<()> {
    let s = ctx
        .admin()?
        .begin_session()
        .await
        .map_err(|e| explain(e, ctx))?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("New session {} started at {}.", s.id, s.started_at);
    }
    Ok(())
}
