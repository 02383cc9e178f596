//! Claude Code's `PreToolUse` (every tool): first the peer-turn guard
//! ([`consent`]: in a turn a peer's message started, a tool that changes things
//! needs the person's go-ahead), then, for editing tools, the edit guard
//! ([`edit`]: the file is reported active; another peer editing it is named).
//! Both answers join into one decision (`deny` over `ask`, both reasons).
//! Tools neither guard looks at end at once, without a broker call.

use claude_peers_proto::consent::Verdict;

use crate::identity::HookEnv;
use crate::input::HookInput;
use crate::output::Outcome;
use crate::{consent, edit};

pub async fn pre_tool(env: &HookEnv, input: &HookInput) -> Outcome {
    let mut notes: Vec<String> = Vec::new();
    let mut verdicts: Vec<(Verdict, String)> = Vec::new();
    match consent::guard(env, input) {
        Ok(Some(v)) => verdicts.push(v),
        Ok(None) => {}
        Err(e) => notes.push(e),
    }
    match edit::check(env, input).await {
        edit::EditCheck::Clear => {}
        edit::EditCheck::Failed(e) => notes.push(e),
        edit::EditCheck::Conflict(reason) => {
            let v = match edit::conflict_decision() {
                "deny" => Verdict::Deny,
                _ => Verdict::Ask,
            };
            verdicts.push((v, reason));
        }
    }
    let mut out = if verdicts.is_empty() {
        Outcome::quiet()
    } else {
        let deny = verdicts.iter().any(|(v, _)| *v == Verdict::Deny);
        let reasons: Vec<&str> = verdicts.iter().map(|(_, r)| r.as_str()).collect();
        let verdict = if deny { Verdict::Deny } else { Verdict::Ask };
        Outcome::decision(env.client, verdict.as_str(), &reasons.join("\n\n"))
    };
    for n in notes {
        out.stderr.push_str(&Outcome::fail_open(n).stderr);
    }
    out
}
