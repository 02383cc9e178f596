//! The coordination tools: the seed's names and parameters (SPEC section 10,
//! tools 11-26), plus `start_task` and `revoke_decision`. Each works within the
//! caller's group; each result names the ids needed next. The full profile
//! offers them; the `core` profile does not.

use std::borrow::Cow;

use claude_peers_proto::coord::{
    ApprovalStatus, CastVote, CompleteTask, CreateProposal, CreateTask, DecisionQuery, ListQuery,
    PostDecision, ProposalStatus, RequestApproval, RequestVerification, RespondApproval,
    RespondVerification, SetActiveFiles, StartTask, StringList, StructuredRequest, TaskStatus,
    TaskView, Verdict, VerificationStatus, Vote,
};
use claude_peers_proto::limits::{DEFAULT_VOTES_REQUIRED, MAX_VOTES_REQUIRED, MIN_VOTES_REQUIRED};
use claude_peers_proto::structured::StructuredType;
use claude_peers_proto::validate;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use rmcp::{schemars, tool, tool_router};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::format;
use crate::tools::{IdArg, Out, Tools, err};

/// A text field passed through as given, so the broker can name the field
/// when its type is wrong.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct TextArg(pub Value);

impl JsonSchema for TextArg {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "TextArg".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string"})
    }
}

/// A list of strings (the seed's `string[]`); one string is taken as a
/// list of one, a leniency the schema does not advertise.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct ListArg(pub Value);

impl JsonSchema for ListArg {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "ListArg".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "array", "items": {"type": "string"}})
    }
}

/// A whole number passed through as given (the broker checks its range).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct VotesArg(pub Value);

impl JsonSchema for VotesArg {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "VotesArg".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": MIN_VOTES_REQUIRED,
            "maximum": MAX_VOTES_REQUIRED,
            "default": DEFAULT_VOTES_REQUIRED,
        })
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct StructuredArgs {
    // The fields of each msg_type are listed in the tool's description, once.
    /// Peer name or id.
    pub to_id: String,
    #[serde(default)]
    pub reply_to: Option<IdArg>,
    #[schemars(extend("enum" = ["question", "decision", "context_share", "review_request", "handoff"]))]
    pub msg_type: String,
    #[serde(default)]
    pub question: Option<TextArg>,
    #[serde(default)]
    pub expected_format: Option<TextArg>,
    #[serde(default)]
    pub context: Option<TextArg>,
    #[serde(default)]
    pub decision: Option<TextArg>,
    #[serde(default)]
    pub rationale: Option<TextArg>,
    #[serde(default)]
    pub alternatives_rejected: Option<ListArg>,
    #[serde(default)]
    pub summary: Option<TextArg>,
    #[serde(default)]
    pub files_changed: Option<ListArg>,
    #[serde(default)]
    pub constraints: Option<ListArg>,
    #[serde(default)]
    pub current_task: Option<TextArg>,
    #[serde(default)]
    pub file_path: Option<TextArg>,
    #[serde(default)]
    pub description: Option<TextArg>,
    #[serde(default)]
    pub acceptance_criteria: Option<TextArg>,
    #[serde(default)]
    pub work_completed: Option<TextArg>,
    #[serde(default)]
    pub remaining_work: Option<TextArg>,
    #[serde(default)]
    pub files_modified: Option<ListArg>,
    #[serde(default)]
    pub decisions_made: Option<ListArg>,
    #[serde(default)]
    pub blockers: Option<ListArg>,
}

impl StructuredArgs {
    fn fields(self) -> Map<String, Value> {
        let mut m = Map::new();
        macro_rules! put {
            ($($f:ident),*) => {$(
                if let Some(v) = self.$f {
                    m.insert(stringify!($f).to_string(), v.0);
                }
            )*};
        }
        put!(
            question,
            expected_format,
            context,
            decision,
            rationale,
            alternatives_rejected,
            summary,
            files_changed,
            constraints,
            current_task,
            file_path,
            description,
            acceptance_criteria,
            work_completed,
            remaining_work,
            files_modified,
            decisions_made,
            blockers
        );
        m
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PostDecisionArgs {
    pub key: String,
    pub value: String,
    pub rationale: String,
    /// E.g. architecture; default general.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct QueryDecisionsArgs {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct DecisionIdArgs {
    pub decision_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RequestVerificationArgs {
    /// Verifier name or id.
    pub to_id: String,
    pub claim: String,
    pub evidence_needed: String,
    #[serde(default)]
    pub files_to_check: Option<ListArg>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RespondVerificationArgs {
    pub verification_id: String,
    pub status: Verdict,
    pub response: String,
    #[serde(default)]
    pub evidence: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateProposalArgs {
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub required_votes: Option<VotesArg>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct VoteArgs {
    pub proposal_id: String,
    pub vote: Vote,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateTaskArgs {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Peer name or id.
    #[serde(default)]
    pub assignee: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct TaskIdArgs {
    pub task_id: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct StartTaskArgs {
    /// Task id (task-…).
    pub task_id: String,
    /// Only when you cannot go on: who or what you need.
    #[serde(default)]
    pub blocked: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CompleteTaskArgs {
    pub task_id: String,
    #[serde(default)]
    pub result: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListTasksArgs {
    #[serde(default)]
    pub status: Option<TaskStatus>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RequestApprovalArgs {
    /// Peer name or id.
    pub approver: String,
    pub action: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RespondApprovalArgs {
    pub approval_id: String,
    pub approved: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ActiveFilesArgs {
    /// Relative or absolute paths; [] clears.
    pub files: ListArg,
}

fn need_id(field: &str, id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        Err(format!("'{field}' cannot be empty"))
    } else {
        Ok(())
    }
}

fn task_line(t: &TaskView, me: Option<&str>) -> String {
    let status = match t.status {
        TaskStatus::Pending => "pending",
        TaskStatus::InProgress => "in progress",
        TaskStatus::Blocked => "blocked",
        TaskStatus::Completed => "done",
    };
    let assignee = t
        .assignee
        .as_ref()
        .map(|a| {
            if Some(a.id.as_str()) == me {
                "you".to_string()
            } else {
                a.name.clone()
            }
        })
        .unwrap_or_else(|| "unassigned".into());
    let mut line = format!(
        "[{status}] {}: {} (assignee: {assignee}; by {})",
        t.id, t.title, t.creator.name
    );
    if !t.result.is_empty() {
        line.push_str(&format!("\n    result: {}", t.result.replace('\n', " ")));
    }
    line
}

#[tool_router(router = coord_router, vis = "pub")]
impl Tools {
    #[tool(
        description = "A typed message to a peer. Fields by msg_type (? = optional): question: question, expected_format, context?; decision: decision, rationale, alternatives_rejected?; context_share: summary, files_changed?, constraints?, current_task?; review_request: file_path, description, acceptance_criteria?; handoff: work_completed, remaining_work, files_modified, decisions_made, blockers?."
    )]
    async fn send_structured(&self, Parameters(a): Parameters<StructuredArgs>) -> Out {
        let c = self.session.client().await?;
        let to = a.to_id.clone();
        let msg_type = StructuredType::field("msg_type", &a.msg_type).map_err(err)?;
        let reply_to = a.reply_to.as_ref().map(IdArg::get).transpose()?;
        let r = c
            .send_structured(&StructuredRequest {
                to,
                msg_type,
                fields: a.fields(),
                context: Some(self.session.fresh_context().await),
                reply_to,
            })
            .await
            .map_err(err)?;
        if let Some(h) = &r.held {
            return Ok(h.reason.clone());
        }
        Ok(format!(
            "Structured {} #{} sent to {} (id {}): {}.",
            msg_type.as_str(),
            r.message_id,
            r.to.name,
            r.to.id,
            format::send_sentence(r.state, r.recipient_connected, r.reach, &r.to.name)
        ))
    }

    #[tool(description = "Record a group decision (same key updates it); the group is told.")]
    async fn post_decision(&self, Parameters(a): Parameters<PostDecisionArgs>) -> Out {
        let c = self.session.client().await?;
        let d = c
            .post_decision(&PostDecision {
                key: a.key,
                value: a.value,
                rationale: a.rationale,
                category: a.category,
            })
            .await
            .map_err(err)?;
        let verb = if d.created_at == d.updated_at {
            "posted"
        } else {
            "updated"
        };
        Ok(format!(
            "Decision {verb}: [{}] {} = {} (id {}).",
            d.category, d.key, d.value, d.id
        ))
    }

    #[tool(
        description = "Your group's active decisions, by key or category; check before big choices."
    )]
    async fn query_decisions(&self, Parameters(a): Parameters<QueryDecisionsArgs>) -> Out {
        let c = self.session.client().await?;
        let list = c
            .decisions(&DecisionQuery {
                key: a.key.clone(),
                category: a.category.clone(),
                ..Default::default()
            })
            .await
            .map_err(err)?;
        if list.is_empty() {
            return Ok(match (&a.key, &a.category) {
                (Some(k), _) => format!("No active decision for key \"{k}\"."),
                (None, Some(cat)) => format!("No active decisions in category \"{cat}\"."),
                _ => "No decisions recorded yet.".into(),
            });
        }
        let body: Vec<String> = list
            .iter()
            .map(|d| {
                format!(
                    "[{}] **{}** = {}\n  Rationale: {}\n  By: {} ({}), id {}",
                    d.category, d.key, d.value, d.rationale, d.author.name, d.updated_at, d.id
                )
            })
            .collect();
        Ok(format!(
            "Decisions ({}):\n\n{}",
            list.len(),
            body.join("\n\n")
        ))
    }

    #[tool(description = "Revoke a decision you posted; the group is told.")]
    async fn revoke_decision(&self, Parameters(a): Parameters<DecisionIdArgs>) -> Out {
        need_id("decision_id", &a.decision_id)?;
        let c = self.session.client().await?;
        let d = c.revoke_decision(&a.decision_id).await.map_err(err)?;
        Ok(format!("Decision {} ({}) revoked.", d.key, d.id))
    }

    #[tool(
        description = "Ask a peer of your group to verify a claim (they use respond_verification)."
    )]
    async fn request_verification(
        &self,
        Parameters(a): Parameters<RequestVerificationArgs>,
    ) -> Out {
        let c = self.session.client().await?;
        let v = c
            .request_verification(&RequestVerification {
                verifier: a.to_id,
                claim: a.claim,
                evidence_needed: a.evidence_needed,
                files_to_check: a
                    .files_to_check
                    .map(|f| StringList::from_value("files_to_check", &f.0))
                    .transpose()
                    .map_err(err)?,
            })
            .await
            .map_err(err)?;
        Ok(format!(
            "Verification requested (ID: {}). Waiting for {} to respond.",
            v.id, v.verifier.name
        ))
    }

    #[tool(description = "Answer a verification request to you; the requester is told.")]
    async fn respond_verification(
        &self,
        Parameters(a): Parameters<RespondVerificationArgs>,
    ) -> Out {
        need_id("verification_id", &a.verification_id)?;
        let c = self.session.client().await?;
        let v = c
            .respond_verification(
                &a.verification_id,
                &RespondVerification {
                    status: a.status,
                    response: a.response,
                    evidence: a.evidence,
                },
            )
            .await
            .map_err(err)?;
        Ok(format!(
            "Verification {} {}; {} was told.",
            v.id,
            v.status.as_str(),
            v.requester.name
        ))
    }

    #[tool(
        description = "Put a proposal to your group's vote: decided at required_votes approvals or rejections, or once it cannot pass."
    )]
    async fn create_proposal(&self, Parameters(a): Parameters<CreateProposalArgs>) -> Out {
        let c = self.session.client().await?;
        let p = c
            .create_proposal(&CreateProposal {
                title: a.title,
                description: a.description,
                required_votes: a
                    .required_votes
                    .map(|v| validate::votes_required(Some(&v.0)))
                    .transpose()
                    .map_err(err)?,
            })
            .await
            .map_err(err)?;
        Ok(format!(
            "Proposal created (ID: {}): \"{}\". Your group was told; it needs {} approval(s).",
            p.id, p.title, p.required_votes
        ))
    }

    #[tool(
        description = "Vote on an open proposal of your group (not your own); changeable while open."
    )]
    async fn vote_proposal(&self, Parameters(a): Parameters<VoteArgs>) -> Out {
        need_id("proposal_id", &a.proposal_id)?;
        let c = self.session.client().await?;
        let vote = a.vote;
        let p = c
            .vote(
                &a.proposal_id,
                &CastVote {
                    vote,
                    reason: a.reason.clone(),
                },
            )
            .await
            .map_err(err)?;
        let reason = a
            .reason
            .filter(|r| !r.trim().is_empty())
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let outcome = match p.status {
            ProposalStatus::Approved => "APPROVED".to_string(),
            ProposalStatus::Rejected => "REJECTED".to_string(),
            ProposalStatus::Open => "still open".to_string(),
        };
        Ok(format!(
            "Vote cast on {}: {vote}{reason} — {outcome} ({} approval(s), {} rejection(s), {} needed).",
            p.id, p.approvals, p.rejections, p.required_votes
        ))
    }

    #[tool(
        description = "Create a task in your group, optionally assigned to a peer (who is told)."
    )]
    async fn create_task(&self, Parameters(a): Parameters<CreateTaskArgs>) -> Out {
        let c = self.session.client().await?;
        let t = c
            .create_task(&CreateTask {
                title: a.title,
                description: a.description.unwrap_or_default(),
                assignee: a.assignee.filter(|s| !s.trim().is_empty()),
                group: None,
            })
            .await
            .map_err(err)?;
        Ok(match &t.assignee {
            Some(x) => format!("Task created ({}) and assigned to {}.", t.id, x.name),
            None => format!("Task created ({}), unassigned.", t.id),
        })
    }

    #[tool(
        description = "Start a task assigned to you, or claim an unassigned one; its creator is told. With `blocked`, it waits in the user's lane until started again."
    )]
    async fn start_task(&self, Parameters(a): Parameters<StartTaskArgs>) -> Out {
        need_id("task_id", &a.task_id)?;
        let c = self.session.client().await?;
        let blocked = a.blocked.filter(|b| !b.trim().is_empty());
        let t = c
            .start_task_with(&a.task_id, &StartTask { blocked })
            .await
            .map_err(err)?;
        Ok(match t.status {
            TaskStatus::Blocked => format!(
                "Task {} is blocked ({}); the user sees it in their \"needs you\" lane.",
                t.id, t.blocked_reason
            ),
            _ => format!("Task {} is in progress: {}.", t.id, t.title),
        })
    }

    #[tool(
        description = "Complete a task you are assigned to or created; the other party is told."
    )]
    async fn complete_task(&self, Parameters(a): Parameters<CompleteTaskArgs>) -> Out {
        need_id("task_id", &a.task_id)?;
        let c = self.session.client().await?;
        let t = c
            .complete_task(&a.task_id, &CompleteTask { result: a.result })
            .await
            .map_err(err)?;
        Ok(format!("Task {} marked as completed.", t.id))
    }

    #[tool(description = "What waits on you or for you: open proposals, verifications, approvals.")]
    async fn list_open_items(&self) -> Out {
        let c = self.session.client().await?;
        let me = match self.session.me() {
            Some(m) => m.id,
            None => c.me().await.map_err(err)?.peer.id,
        };
        fn open<S>(status: S) -> ListQuery<S> {
            ListQuery {
                status: Some(status),
                ..Default::default()
            }
        }
        let proposals = c
            .proposals(&open(ProposalStatus::Open))
            .await
            .map_err(err)?;
        let verifications = c
            .verifications(&open(VerificationStatus::Pending))
            .await
            .map_err(err)?;
        let approvals = c
            .approvals(&open(ApprovalStatus::Pending))
            .await
            .map_err(err)?;
        let mut out = Vec::new();
        let mut section = |title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                out.push(format!("{title} ({}):\n{}", lines.len(), lines.join("\n")));
            }
        };
        section(
            "Open proposals",
            proposals
                .iter()
                .map(|p| {
                    let mine = if p.author.id == me {
                        "yours".to_string()
                    } else if let Some(v) = p.votes.iter().find(|v| v.voter.id == me) {
                        format!("you voted {}", v.vote.as_str())
                    } else {
                        "you have not voted".to_string()
                    };
                    format!(
                        "- {} \"{}\" by {}: {}/{} approvals, {} rejection(s); {mine}",
                        p.id, p.title, p.author.name, p.approvals, p.required_votes, p.rejections
                    )
                })
                .collect(),
        );
        section(
            "Verifications you are asked to do",
            verifications
                .iter()
                .filter(|v| v.verifier.id == me)
                .map(|v| format!("- {} from {}: {}", v.id, v.requester.name, v.claim))
                .collect(),
        );
        section(
            "Verifications you asked for",
            verifications
                .iter()
                .filter(|v| v.requester.id == me)
                .map(|v| format!("- {} by {}: {}", v.id, v.verifier.name, v.claim))
                .collect(),
        );
        section(
            "Approvals waiting on you",
            approvals
                .iter()
                .filter(|a| a.approver.id == me)
                .map(|a| format!("- {} from {}: {}", a.id, a.requester.name, a.action))
                .collect(),
        );
        section(
            "Your approval requests",
            approvals
                .iter()
                .filter(|a| a.requester.id == me)
                .map(|a| format!("- {} to {}: {}", a.id, a.approver.name, a.action))
                .collect(),
        );
        if out.is_empty() {
            return Ok("Nothing open: no proposals, verifications or approvals wait.".into());
        }
        Ok(out.join("\n\n"))
    }

    #[tool(description = "Your group's tasks in this session.")]
    async fn list_tasks(&self, Parameters(a): Parameters<ListTasksArgs>) -> Out {
        let c = self.session.client().await?;
        let list = c
            .tasks(&ListQuery {
                status: a.status,
                ..Default::default()
            })
            .await
            .map_err(err)?;
        if list.is_empty() {
            return Ok("No tasks found.".into());
        }
        let me = self.session.me().map(|m| m.id);
        Ok(list
            .iter()
            .map(|t| task_line(t, me.as_deref()))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    #[tool(
        description = "Ask a peer of your group to approve an action first (they use respond_approval)."
    )]
    async fn request_approval(&self, Parameters(a): Parameters<RequestApprovalArgs>) -> Out {
        let c = self.session.client().await?;
        let r = c
            .request_approval(&RequestApproval {
                approver: a.approver,
                action: a.action,
            })
            .await
            .map_err(err)?;
        Ok(format!(
            "Approval requested (ID: {}). Waiting for {} to respond.",
            r.id, r.approver.name
        ))
    }

    #[tool(description = "Approve or reject an approval request to you; the requester is told.")]
    async fn respond_approval(&self, Parameters(a): Parameters<RespondApprovalArgs>) -> Out {
        need_id("approval_id", &a.approval_id)?;
        let c = self.session.client().await?;
        let r = c
            .respond_approval(
                &a.approval_id,
                &RespondApproval {
                    approved: a.approved,
                    reason: a.reason,
                },
            )
            .await
            .map_err(err)?;
        let reason = if r.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", r.reason)
        };
        Ok(format!(
            "Approval {} {}{reason}; {} was told.",
            r.id,
            if a.approved { "granted" } else { "rejected" },
            r.requester.name
        ))
    }

    #[tool(
        description = "Report the files you edit now (replaces the last report); peers on the same file are told."
    )]
    async fn set_active_files(&self, Parameters(a): Parameters<ActiveFilesArgs>) -> Out {
        let c = self.session.client().await?;
        let r = c
            .set_active_files(&SetActiveFiles {
                files: StringList::from_value("files", &a.files.0).map_err(err)?,
            })
            .await
            .map_err(err)?;
        let ttl = if r.ttl_ms >= 120_000 {
            format!("{} min", r.ttl_ms / 60_000)
        } else {
            format!("{} s", r.ttl_ms / 1000)
        };
        if r.conflicts.is_empty() {
            return Ok(format!(
                "Active files updated ({} file{}); report again within {ttl} to keep them.",
                r.files.len(),
                if r.files.len() == 1 { "" } else { "s" }
            ));
        }
        let lines: Vec<String> = r
            .conflicts
            .iter()
            .map(|c| format!("  - {} (also edited by {})", c.path, c.peer.name))
            .collect();
        Ok(format!(
            "Active files updated ({} file(s)). CONFLICTS detected:\n{}",
            r.files.len(),
            lines.join("\n")
        ))
    }

    #[tool(description = "Markdown report of this session: who, tasks, decisions, reviews, files.")]
    async fn session_report(&self) -> Out {
        let c = self.session.client().await?;
        c.session_report(None).await.map_err(err)
    }
}
