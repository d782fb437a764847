//! The operator page (`server.ui.enabled`): `GET /ui` (downstream servers, recent selections and
//! reloads), `GET /ui/catalog?q=` (the catalog, searched) and `GET /ui/try?q=&k=` (a query ranked
//! exactly as `POST /v1/select` ranks it, with each signal's score).
//!
//! Plain HTML rendered here with an inline style and no script (forms use GET), every value
//! escaped. It is answered after admission like every route, so with auth on it takes the same
//! credential, and what it lists of tools follows the caller's grant (`server.auth.policy`).

mod html;

use std::fmt::Write;

use http::StatusCode;

use super::Plain;
use super::rest;
use crate::catalog::Catalog;
use crate::error::ProxyError;
use crate::exchange::{Exchange, SelectPurpose};
use crate::gateway::GatewayShared;
use crate::pipeline::Stage;
use crate::recent::cut;
use crate::snapshot::Snapshot;
use html::{Esc, Tab, frame, utc};

/// Rows the catalog table shows at most (the count above it says how many matched).
const CATALOG_ROWS: usize = 500;
/// Bytes of a tool description shown.
const DESCRIPTION_BYTES: usize = 300;

/// `/ui` and everything under it.
pub(super) fn is_ui_path(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

/// The query string's `q` (trimmed) and `k`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Params {
    pub q: String,
    pub k: Option<usize>,
}

impl Params {
    pub(super) fn parse(query: Option<&str>) -> Params {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "q" => params.q = value.trim().to_string(),
                "k" => params.k = value.trim().parse().ok(),
                _ => {}
            }
        }
        params
    }
}

/// Answers one page; `ex` is the admitted request ("try a query" runs its route phase).
pub(super) async fn page<S: Stage>(
    shared: &GatewayShared<S>,
    snap: &Snapshot<S>,
    ex: &mut Exchange,
    path: &str,
    query: Option<&str>,
) -> Result<Plain, ProxyError> {
    let params = Params::parse(query);
    let gateway = snap.config.server.name.as_str();
    let (status, title, tab, body) = match path.trim_end_matches('/') {
        "/ui" => (
            StatusCode::OK,
            "Overview",
            Tab::Overview,
            overview(shared, snap, ex),
        ),
        "/ui/catalog" => {
            let body = catalog(&snap.catalog, ex, &params.q);
            (StatusCode::OK, "Catalog", Tab::Catalog, body)
        }
        "/ui/try" => {
            let (status, body) = try_query(snap, ex, &params).await;
            (status, "Try a query", Tab::Try, body)
        }
        _ => return Err(ProxyError::NotFound(path.to_string())),
    };
    Ok(Plain {
        status,
        content_type: "text/html; charset=utf-8",
        body: frame(gateway, title, tab, &body).into_bytes(),
    })
}

/// Whether the caller may see `tool` (its grant; none: every tool).
fn visible(catalog: &Catalog, ex: &Exchange, tool: &str) -> bool {
    match &ex.grant {
        None => true,
        Some(grant) => catalog
            .route_tool(tool)
            .is_some_and(|route| grant.allows(tool, &route.server)),
    }
}

fn overview<S: Stage>(shared: &GatewayShared<S>, snap: &Snapshot<S>, ex: &Exchange) -> String {
    let mut out = String::new();
    let index = match &snap.index {
        None => "not built yet",
        Some(_) if !snap.index_covers_catalog() => "being rebuilt for the current catalog",
        Some(_) => "covers the catalog",
    };
    let _ = write!(
        out,
        "<p class=meta>UCP {} · {} tools in the catalog · index {index} · snapshot generation {}</p>",
        env!("CARGO_PKG_VERSION"),
        snap.catalog.tool_count(),
        snap.generation,
    );

    out.push_str("<h2>Downstream servers</h2>");
    let servers = shared.pool.servers();
    if servers.is_empty() {
        out.push_str("<p class=empty>No downstream server is configured.</p>");
    } else {
        out.push_str(
            "<table id=servers><thead><tr><th>Server<th>Transport<th>State<th>Circuit\
             <th class=n>Tools<th class=n>Restarts</tr></thead><tbody>",
        );
        for ds in servers.values() {
            let state = ds.state();
            let class = match &state {
                crate::LinkState::Connected => "ok",
                crate::LinkState::Disabled => "meta",
                _ => "bad",
            };
            let circuit = ds.circuit().as_str();
            let transport = match ds.config.transport {
                ucp_config::DownstreamTransport::Stdio { .. } => "stdio",
                ucp_config::DownstreamTransport::Http { .. } => "http",
            };
            let tools = snap.catalog.tools_per_server.get(&ds.name).copied();
            let _ = write!(
                out,
                "<tr data-server=\"{name}\"><td>{name}<td>{transport}<td class={class}>{}",
                state.as_str(),
                name = Esc(&ds.name),
            );
            // The reason of a disconnection is in the log, redacted; it may name a secret.
            let circuit_class = if circuit == "closed" { "ok" } else { "warn" };
            let _ = write!(
                out,
                "<td class={circuit_class}>{circuit}<td class=n>{}<td class=n>{}</tr>",
                tools.unwrap_or(0),
                ds.restarts(),
            );
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h2>Recent selections</h2>");
    let selections = shared.recent.selections.latest();
    if selections.is_empty() {
        out.push_str("<p class=empty>No selection yet.</p>");
    } else {
        out.push_str(
            "<table id=selections><thead><tr><th>Time<th>Caller<th>Via<th>Query<th>Tools, best first\
             </tr></thead><tbody>",
        );
        for note in &selections {
            let via = match note.purpose {
                SelectPurpose::Search => "ucp_search_tools",
                SelectPurpose::Select => "/v1/select",
                SelectPurpose::DynamicList => "dynamic list",
            };
            let cached = if note.cached {
                " <small>(cached)</small>"
            } else {
                ""
            };
            let _ = write!(
                out,
                "<tr><td>{}<td>{}<td>{via}{cached}<td>{}<td>",
                utc(note.at),
                Esc(note.identity.as_str()),
                Esc(&note.query),
            );
            let shown: Vec<&str> = note
                .tools
                .iter()
                .map(|t| t.name.as_str())
                .filter(|name| visible(&snap.catalog, ex, name))
                .take(5)
                .collect();
            for (i, name) in shown.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(out, "{sep}<code>{}</code>", Esc(name));
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }

    out.push_str("<h2>Recent reloads</h2>");
    let reloads = shared.recent.reloads.latest();
    if reloads.is_empty() {
        out.push_str("<p class=empty>No reload since the start (send SIGHUP to reload).</p>");
    } else {
        out.push_str(
            "<table id=reloads><thead><tr><th>Time<th>Outcome<th>Detail</tr></thead><tbody>",
        );
        for note in &reloads {
            let (class, outcome) = if note.applied {
                ("ok", "applied")
            } else {
                ("bad", "failed")
            };
            let _ = write!(
                out,
                "<tr><td>{}<td class={class}>{outcome}<td>{}</tr>",
                utc(note.at),
                Esc(&note.detail),
            );
        }
        out.push_str("</tbody></table>");
    }
    out
}

/// Whether every whitespace-separated term of `terms` (lowercase) is in `haystack` (lowercase).
fn matches_all(terms: &[String], haystack: &str) -> bool {
    terms.iter().all(|term| haystack.contains(term.as_str()))
}

/// The catalog's tools the caller may see whose name, server or description holds every term of
/// `q` (case-insensitive): their rows, and how many matched of how many visible.
pub(super) fn catalog(catalog: &Catalog, ex: &Exchange, q: &str) -> String {
    let terms: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    let mut rows = String::new();
    let (mut matched, mut total) = (0usize, 0usize);
    for tool in &catalog.tools {
        let Some(route) = catalog.route_tool(&tool.name) else {
            continue;
        };
        if let Some(grant) = &ex.grant
            && !grant.allows(&tool.name, &route.server)
        {
            continue;
        }
        total += 1;
        let description = tool.description.as_deref().unwrap_or("");
        if !terms.is_empty() {
            let haystack =
                format!("{}\n{}\n{}", tool.name, route.server, description).to_lowercase();
            if !matches_all(&terms, &haystack) {
                continue;
            }
        }
        matched += 1;
        if matched <= CATALOG_ROWS {
            let _ = write!(
                rows,
                "<tr><td><code>{}</code><td>{}<td>{}</tr>",
                Esc(&tool.name),
                Esc(&route.server),
                Esc(cut(description, DESCRIPTION_BYTES)),
            );
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<form action=\"/ui/catalog\" method=get><input name=q value=\"{}\" placeholder=\"words in a tool's name, server or description\" autofocus><button>Search</button></form>",
        Esc(q)
    );
    let more = if matched > CATALOG_ROWS {
        format!(" (the first {CATALOG_ROWS} shown)")
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<p id=count class=meta>{matched} of {total} tools{more}</p>"
    );
    if matched == 0 {
        out.push_str("<p class=empty>No tool matches.</p>");
    } else {
        let _ = write!(
            out,
            "<table id=catalog><thead><tr><th>Tool<th>Server<th>Description</tr></thead><tbody>{rows}</tbody></table>"
        );
    }
    out
}

/// The form, and for a query its ranking through the route phase (the selection cache, the
/// caller's grant and the usage signals included), as `POST /v1/select` answers it.
async fn try_query<S: Stage>(
    snap: &Snapshot<S>,
    ex: &mut Exchange,
    params: &Params,
) -> (StatusCode, String) {
    let k = params.k.unwrap_or(snap.config.tool_zoo.top_k);
    let mut out = String::new();
    let _ = write!(
        out,
        "<form action=\"/ui/try\" method=get><input name=q value=\"{}\" placeholder=\"what the agent is asked to do\" autofocus><input name=k type=number min=1 value={k} title=\"how many tools\"><button>Rank</button></form>",
        Esc(&params.q)
    );
    if params.q.is_empty() {
        out.push_str(
            "<p class=empty>Type what an agent is asked to do: the tools are ranked as \
             <code>POST /v1/select</code> ranks them, with each signal's share of the score.</p>",
        );
        return (StatusCode::OK, out);
    }
    let ranked = match rest::rank(snap, ex, params.q.clone(), Some(k), Vec::new()).await {
        Ok(ranked) => ranked,
        Err(error) => {
            let _ = write!(out, "<p id=error class=bad>{}</p>", Esc(&error.to_string()));
            return (error.status(), out);
        }
    };
    let work = ex.select.as_ref();
    let cached = work.is_some_and(|w| w.cached);
    let took = work
        .and_then(|w| w.query_duration)
        .map(|d| format!(" in {:.1} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_default();
    let source = if cached {
        "from the selection cache".to_string()
    } else {
        format!("ranked{took}")
    };
    let mode = match snap.config.router.mode {
        ucp_config::RouterMode::Keyword => "keyword",
        ucp_config::RouterMode::Semantic => "semantic",
        ucp_config::RouterMode::Hybrid => "hybrid",
    };
    let _ = write!(
        out,
        "<p class=meta>{} tools, {source} ({mode} mode). Score = the fused signals; the columns after it are each signal's share.</p>",
        ranked.len(),
    );
    if ranked.is_empty() {
        out.push_str("<p class=empty>No tool passes the similarity threshold.</p>");
        return (StatusCode::OK, out);
    }
    out.push_str(
        "<table id=ranked><thead><tr><th class=n>#<th>Tool<th class=n>Score<th class=n>BM25\
         <th class=n>Dense<th class=n>Learned<th class=n>Co-occurrence<th>Description\
         </tr></thead><tbody>",
    );
    for (i, tool) in ranked.iter().enumerate() {
        let s = &tool.scores;
        let _ = write!(
            out,
            "<tr><td class=n>{}<td><code>{}</code><td class=n>{:.3}<td class=n>{:.3}<td class=n>{:.3}<td class=n>{:.3}<td class=n>{:.3}<td>{}</tr>",
            i + 1,
            Esc(&tool.name),
            tool.score,
            s.bm25,
            s.dense,
            s.learned,
            s.co_occurrence,
            Esc(cut(&tool.description, DESCRIPTION_BYTES)),
        );
    }
    out.push_str("</tbody></table>");
    (StatusCode::OK, out)
}

#[cfg(test)]
mod tests;
