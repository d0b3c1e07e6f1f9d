//! `/api/playbooks`: the `[[playbooks]]` rules of the configuration file, edited in place, and
//! a run of the snapshot's day (what `tenure run-playbooks` does).
//!
//! Invariants:
//! - The file is the source of truth. A save reads it, replaces (or appends) the one rule
//!   with `toml_edit` so the user's comments and layout elsewhere survive, validates the
//!   **whole** result with [`Config::parse`] and only then writes it (temporary file + rename)
//!   and swaps the server's configuration. A refused save changes nothing.
//! - Saves and runs hold the store lock, so they are serialised with each other and with
//!   every other write.
//! - A run records the day's segment and stage moves and enqueues each fire once (the fire
//!   ids are deterministic: running the day again enqueues nothing new); the worker delivers.

use crate::api::JsonBody;
use crate::auth::{Read, Write};
use crate::error::ErrorBody;
use crate::snapshot::day_text;
use crate::{now_secs, ApiError, AppState, Settings};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tenure_act::playbooks::Rule;
use tenure_act::{plan_day, Config, Journaled};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_playbooks))
        .routes(routes!(save_playbook, delete_playbook))
        .routes(routes!(run_playbooks))
}

/// One rule.
#[derive(Serialize, ToSchema)]
pub struct PlaybookOut {
    pub name: String,
    /// The trigger's key (`health_below`, `nps_detractor`, …).
    pub trigger: String,
    /// Days; `null`: none.
    pub cooldown_days: Option<u32>,
    /// `webhook crm`, `email a@b.example`, `task cs-queue`, in order.
    pub actions: Vec<String>,
    /// The rule as it stands in the file (its keys, without the `[[playbooks]]` header).
    pub toml: String,
    /// Customers the rule has fired for so far (from the store).
    pub fires: u64,
}

#[derive(Serialize, ToSchema)]
pub struct PlaybookList {
    /// Whether saves are possible (the server was started with a configuration file).
    pub editable: bool,
    /// Where the configuration came from (`defaults` or a file).
    pub config: String,
    /// The day a run evaluates (the snapshot's).
    pub as_of: Option<String>,
    /// In evaluation order.
    pub playbooks: Vec<PlaybookOut>,
}

fn action_text(a: &tenure_act::playbooks::Action) -> String {
    use tenure_act::playbooks::Action;
    match a {
        Action::Webhook { endpoint } => format!("webhook {endpoint}"),
        Action::Email { to, .. } => format!("email {to}"),
        Action::Task { queue, .. } => format!("task {queue}"),
        Action::Case {
            owner, severity, ..
        } => format!("case for {owner} (severity {severity})"),
        Action::Interaction { kind, owner, .. } => match owner {
            Some(o) => format!("{kind} interaction by {o}"),
            None => format!("{kind} interaction"),
        },
    }
}

/// Each rule's table in the file, by name (empty without a file or when it does not parse).
fn rule_texts(settings: &Settings) -> HashMap<String, String> {
    let Some(path) = &settings.config_path else {
        return HashMap::new();
    };
    let Some(doc) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse::<DocumentMut>().ok())
    else {
        return HashMap::new();
    };
    let Some(rules) = doc.get("playbooks").and_then(Item::as_array_of_tables) else {
        return HashMap::new();
    };
    rules
        .iter()
        .filter_map(|t| {
            let name = t.get("name")?.as_str()?.to_string();
            Some((name, t.to_string()))
        })
        .collect()
}

fn playbook_out(
    r: &Rule,
    texts: &HashMap<String, String>,
    fires: &HashMap<&str, u64>,
) -> PlaybookOut {
    PlaybookOut {
        name: r.name.clone(),
        trigger: r.when.kind().to_string(),
        cooldown_days: r.cooldown.map(|d| d.0),
        actions: r.then.iter().map(action_text).collect(),
        toml: texts.get(&r.name).cloned().unwrap_or_default(),
        fires: fires.get(r.name.as_str()).copied().unwrap_or(0),
    }
}

fn fire_counts(last: &HashMap<(String, String), String>) -> HashMap<&str, u64> {
    let mut n: HashMap<&str, u64> = HashMap::new();
    for (rule, _) in last.keys() {
        *n.entry(rule.as_str()).or_default() += 1;
    }
    n
}

/// The rules of the configuration, with how often each has fired.
#[utoipa::path(get, path = "/api/playbooks", tag = "playbooks",
    responses((status = 200, body = PlaybookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_playbooks(
    State(state): State<AppState>,
    _: Read,
) -> Result<Json<PlaybookList>, ApiError> {
    let as_of = state.snapshot().as_of.map(day_text);
    state
        .with_store(move |store, settings| {
            let last = store.last_fires().map_err(ApiError::store)?;
            let counts = fire_counts(&last);
            let texts = rule_texts(settings);
            Ok(Json(PlaybookList {
                editable: settings.config_path.is_some(),
                config: settings.config_source.clone(),
                as_of,
                playbooks: settings
                    .config
                    .playbooks
                    .iter()
                    .map(|r| playbook_out(r, &texts, &counts))
                    .collect(),
            }))
        })
        .await
}

/// A rule's keys as TOML.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookIn {
    /// `when = { health_below = { score = 40 } }`, `cooldown = "30d"`, `then = [ … ]`, … (see
    /// docs/tenure.toml); `name`, if given, must be the one in the path.
    pub toml: String,
}

#[derive(Serialize, ToSchema)]
pub struct PlaybookSaved {
    pub playbook: PlaybookOut,
    /// Whether it was added (not replaced).
    pub created: bool,
}

fn read_only() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        "the server runs on the default configuration, so there is no file to save playbooks \
         to: start it with --config tenure.toml (the file may be empty)",
    )
}

fn read_config_doc(path: &Path) -> Result<DocumentMut, ApiError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ApiError::internal(format!("{}: {e}", path.display()))),
    };
    text.parse::<DocumentMut>()
        .map_err(|e| ApiError::invalid(format!("{}: {e}", path.display())))
}

/// Write `doc` to `path` if it is a valid configuration, then make it the server's.
fn commit(
    state: &AppState,
    settings: &Settings,
    path: &Path,
    doc: &DocumentMut,
) -> Result<Config, ApiError> {
    let text = doc.to_string();
    let name = path.display().to_string();
    let cfg = Config::parse(&text, &name).map_err(|e| ApiError::invalid(e.to_string()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| ApiError::internal(format!("{}: {e}", dir.display())))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| ApiError::internal(format!("{name}: {e}")))?;
    tmp.persist(path)
        .map_err(|e| ApiError::internal(format!("{name}: {}", e.error)))?;
    let mut next = settings.clone();
    next.config = cfg.clone();
    state.set_settings(next);
    Ok(cfg)
}

/// Add or replace one rule in the configuration file (validated whole before it is written).
#[utoipa::path(put, path = "/api/playbooks/{name}", tag = "playbooks", request_body = PlaybookIn,
    params(("name" = String, Path, description = "The rule's name: 1–64 of a-z, 0-9, _ and -")),
    responses((status = 200, body = PlaybookSaved), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_playbook(
    State(state): State<AppState>,
    _: Write,
    crate::api::P(name): crate::api::P<String>,
    JsonBody(body): JsonBody<PlaybookIn>,
) -> Result<Json<PlaybookSaved>, ApiError> {
    let rule: DocumentMut = body
        .toml
        .parse()
        .map_err(|e| ApiError::invalid(format!("the rule's TOML: {e}")))?;
    if let Some(n) = rule.get("name") {
        if n.as_str() != Some(name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "name = {}: the rule's name must be the one in the path, {name:?}",
                n.to_string().trim()
            )));
        }
    }
    let mut table = Table::new();
    table.insert("name", toml_edit::value(name.clone()));
    for (k, v) in rule.as_table().iter() {
        if k != "name" {
            table.insert(k, v.clone());
        }
    }
    let st = state.clone();
    state
        .with_store(move |store, settings| {
            let path = settings.config_path.clone().ok_or_else(read_only)?;
            let mut doc = read_config_doc(&path)?;
            let rules = doc
                .entry("playbooks")
                .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
            let Some(rules) = rules.as_array_of_tables_mut() else {
                return Err(ApiError::invalid(format!(
                    "{}: `playbooks` is not an array of tables ([[playbooks]])",
                    path.display()
                )));
            };
            let at = rules
                .iter()
                .position(|t| t.get("name").and_then(Item::as_str) == Some(name.as_str()));
            let created = at.is_none();
            match at {
                Some(i) => {
                    if let Some(t) = rules.get_mut(i) {
                        // The comments above its header and its place in the file stay.
                        let (decor, position) = (t.decor().clone(), t.position());
                        *t = table;
                        *t.decor_mut() = decor;
                        t.set_position(position);
                    }
                }
                None => rules.push(table),
            }
            let cfg = commit(&st, settings, &path, &doc)?;
            let last = store.last_fires().map_err(ApiError::store)?;
            let next = st.settings();
            let texts = rule_texts(&next);
            let rule = cfg
                .playbooks
                .iter()
                .find(|r| r.name == name)
                .ok_or_else(|| ApiError::internal("the saved rule is not in the configuration"))?;
            Ok(Json(PlaybookSaved {
                playbook: playbook_out(rule, &texts, &fire_counts(&last)),
                created,
            }))
        })
        .await
}

/// Remove one rule from the configuration file. Its past fires and outbox items stay.
#[utoipa::path(delete, path = "/api/playbooks/{name}", tag = "playbooks",
    params(("name" = String, Path, description = "The rule's name")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_playbook(
    State(state): State<AppState>,
    _: Write,
    crate::api::P(name): crate::api::P<String>,
) -> Result<StatusCode, ApiError> {
    let st = state.clone();
    state
        .with_store(move |_, settings| {
            let path = settings.config_path.clone().ok_or_else(read_only)?;
            let mut doc = read_config_doc(&path)?;
            let rules = doc
                .get_mut("playbooks")
                .and_then(Item::as_array_of_tables_mut);
            let at = rules.as_ref().and_then(|r| {
                r.iter()
                    .position(|t| t.get("name").and_then(Item::as_str) == Some(name.as_str()))
            });
            match (rules, at) {
                (Some(r), Some(i)) => {
                    r.remove(i);
                }
                _ => {
                    return Err(ApiError::not_found(format!(
                        "there is no playbook {name:?}"
                    )))
                }
            }
            commit(&st, settings, &path, &doc)?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RunIn {
    /// Evaluate and list what would fire; store nothing [default: false].
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RuleFires {
    pub rule: String,
    pub fires: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ActionOut {
    pub id: String,
    /// webhook, email, task or record.
    pub channel: String,
    pub target: String,
}

#[derive(Serialize, ToSchema)]
pub struct FireOut {
    pub rule: String,
    pub customer: String,
    pub occurrence: String,
    pub reason: String,
    pub actions: Vec<ActionOut>,
}

#[derive(Serialize, ToSchema)]
pub struct RunOut {
    /// The evaluated day (the snapshot's).
    pub day: String,
    pub dry_run: bool,
    pub rules: Vec<RuleFires>,
    /// Every fire of the day (new or already recorded).
    pub fires: Vec<FireOut>,
    /// What was stored (all 0 on a dry run).
    pub segment_moves: u64,
    pub stage_moves: u64,
    pub new_fires: u64,
    pub new_outbox_items: u64,
    /// Support cases and interactions written by `case` / `interaction` actions.
    pub new_records: u64,
    pub already_recorded_fires: u64,
}

/// Evaluate the playbooks for the snapshot's day on the store's records as they are now: record the day's segment and stage moves
/// and enqueue what fired (once per rule, customer and event), as `tenure run-playbooks`.
#[utoipa::path(post, path = "/api/playbooks/run", tag = "playbooks", request_body = RunIn,
    responses((status = 200, body = RunOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_playbooks(
    State(state): State<AppState>,
    _: Write,
    JsonBody(body): JsonBody<RunIn>,
) -> Result<Json<RunOut>, ApiError> {
    let snap = state.snapshot();
    let Some(as_of) = snap.as_of else {
        return Err(ApiError::invalid(
            "the store holds no records yet: import some first",
        ));
    };
    let st = state.clone();
    let settings = state.settings();
    tokio::task::spawn_blocking(move || {
        let _run = match st.inner_run_lock().lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // Every record (the snapshot keeps no usage events) and the journal, as they are now.
        let (data, journaled) = {
            let mut store = st.lock_store();
            let data = crate::Snapshot::load(store.as_mut()).map_err(ApiError::internal)?;
            let journaled = Journaled {
                segments: store.segment_history(None).map_err(ApiError::store)?,
                stages: store.stage_history(None).map_err(ApiError::store)?,
                last_fires: store.last_fires().map_err(ApiError::store)?,
            };
            (data, journaled)
        };
        let fx = (settings.fx)(&data).map_err(ApiError::invalid)?;
        // Planned without the store lock: every other request goes on meanwhile.
        let plan = plan_day(&data, &fx, as_of, &settings.config, &journaled)
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        if !body.dry_run && plan.out_of_order() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "the segment and stage histories are recorded up to {}; {} is earlier \
                     (histories are kept in day order)",
                    plan.latest.as_deref().unwrap_or(""),
                    plan.day
                ),
            ));
        }
        {
            let mut out = RunOut {
                day: plan.day.clone(),
                dry_run: body.dry_run,
                rules: settings
                    .config
                    .playbooks
                    .iter()
                    .map(|r| RuleFires {
                        rule: r.name.clone(),
                        fires: plan
                            .firings
                            .iter()
                            .filter(|f| f.fire.rule == r.name)
                            .count() as u64,
                    })
                    .collect(),
                fires: plan
                    .firings
                    .iter()
                    .map(|f| FireOut {
                        rule: f.fire.rule.clone(),
                        customer: f.fire.customer_id.clone(),
                        occurrence: f.fire.occurrence.clone(),
                        reason: f.reason.clone(),
                        actions: f
                            .fire
                            .actions
                            .iter()
                            .map(|a| ActionOut {
                                id: a.id.clone(),
                                channel: a.channel.as_str().to_string(),
                                target: a.target.clone(),
                            })
                            .collect(),
                    })
                    .collect(),
                segment_moves: 0,
                stage_moves: 0,
                new_fires: 0,
                new_outbox_items: 0,
                new_records: 0,
                already_recorded_fires: 0,
            };
            if !body.dry_run {
                let mut store = st.lock_store();
                store
                    .record_segments(&plan.day, &plan.segment_moves)
                    .map_err(ApiError::store)?;
                store
                    .record_stages(&plan.day, &plan.stage_moves)
                    .map_err(ApiError::store)?;
                let e = store
                    .enqueue(&plan.fires(), now_secs())
                    .map_err(ApiError::store)?;
                out.segment_moves = plan.segment_moves.len() as u64;
                out.stage_moves = plan.stage_moves.len() as u64;
                out.new_fires = e.fires;
                out.new_outbox_items = e.items;
                out.new_records = e.records;
                out.already_recorded_fires = e.duplicates;
            }
            Ok(Json(out))
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("a playbook run failed: {e}")))?
}
