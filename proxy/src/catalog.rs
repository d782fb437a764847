//! The aggregated catalog: every downstream's tools, prompts, resources and templates under public
//! names, plus the route table that maps each public name back to its server and original name.
//!
//! A catalog is immutable and rebuilt from scratch whenever any server's listing changes; it lives in
//! the snapshot, so a request sees one consistent catalog from start to end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

use crate::names::{self, Naming};

/// What one downstream server lists.
#[derive(Debug, Clone, Default)]
pub struct ServerListing {
    pub tools: Vec<Tool>,
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
    pub resource_templates: Vec<ResourceTemplate>,
}

/// Where a public name leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub server: Arc<str>,
    pub original: String,
}

/// Two downstream items that wanted the same public name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub kind: &'static str,
    pub wanted: String,
    /// The item that has the name.
    pub kept: Route,
    /// The item that wanted it too.
    pub other: Route,
    pub resolution: Resolution,
}

/// What became of [`Collision::other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Published under another name: two names of one server that sanitize alike, or a resource
    /// URI another server already uses.
    Renamed(String),
    /// Not published: another server publishes the name. The item comes back when the name is free.
    HeldBack,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kept, other) = (&self.kept, &self.other);
        write!(
            f,
            "{} `{}`: {}/{} has it; {}/{} ",
            self.kind, self.wanted, kept.server, kept.original, other.server, other.original
        )?;
        match &self.resolution {
            Resolution::Renamed(to) => write!(f, "is published as `{to}`"),
            Resolution::HeldBack => write!(f, "is held back"),
        }
    }
}

/// The gateway's view of everything all connected servers offer.
#[derive(Debug, Default)]
pub struct Catalog {
    pub tools: Vec<Tool>,
    pub prompts: Vec<Prompt>,
    pub resources: Vec<Resource>,
    pub resource_templates: Vec<ResourceTemplate>,
    pub collisions: Vec<Collision>,
    tool_routes: HashMap<String, Route>,
    /// Position in `tools` of each public tool name.
    tool_positions: HashMap<String, usize>,
    prompt_routes: HashMap<String, Route>,
    resource_routes: HashMap<String, Route>,
    /// (literal prefix of a URI template, server), longest prefix first.
    template_prefixes: Vec<(String, Arc<str>)>,
    /// Tools per server, for /health and logs.
    pub tools_per_server: BTreeMap<Arc<str>, usize>,
}

/// The scheme used for a resource URI that another server already uses.
pub const REWRITTEN_URI_PREFIX: &str = "ucp://";

type Owners = HashMap<(&'static str, String), Route>;

impl Catalog {
    /// Builds the catalog from each server's listing. Servers are visited in name order and items in
    /// their listed order, so the same listings always give the same names. A tool or prompt name
    /// that two servers publish goes to the server first in the config, whichever connected
    /// first; the other server's item is held back.
    pub fn build(listings: &BTreeMap<Arc<str>, Arc<ServerListing>>, naming: &Naming) -> Catalog {
        let owners = owners(listings, naming);
        let mut catalog = Catalog::default();
        for (server, listing) in listings {
            let prefix = naming.prefix(server);
            let mut tools = 0;
            for tool in &listing.tools {
                let Some(public) = catalog.claim_name("tool", server, &tool.name, &prefix, &owners)
                else {
                    continue;
                };
                let mut tool = tool.clone();
                catalog
                    .tool_positions
                    .insert(public.clone(), catalog.tools.len());
                tool.name = public.into();
                catalog.tools.push(tool);
                tools += 1;
            }
            catalog.tools_per_server.insert(server.clone(), tools);
            for prompt in &listing.prompts {
                let Some(public) =
                    catalog.claim_name("prompt", server, &prompt.name, &prefix, &owners)
                else {
                    continue;
                };
                let mut prompt = prompt.clone();
                prompt.name = public;
                catalog.prompts.push(prompt);
            }
            for resource in &listing.resources {
                let mut resource = resource.clone();
                let route = Route {
                    server: server.clone(),
                    original: resource.uri.clone(),
                };
                if let Some(kept) = catalog.resource_routes.get(&resource.uri).cloned() {
                    let renamed_to = format!("{REWRITTEN_URI_PREFIX}{server}/{}", resource.uri);
                    catalog.collisions.push(Collision {
                        kind: "resource",
                        wanted: resource.uri.clone(),
                        kept,
                        other: route.clone(),
                        resolution: Resolution::Renamed(renamed_to.clone()),
                    });
                    resource.uri = renamed_to;
                }
                resource.name = names::public_name(&prefix, server, &resource.name);
                catalog.resource_routes.insert(resource.uri.clone(), route);
                catalog.resources.push(resource);
            }
            for template in &listing.resource_templates {
                let mut template = template.clone();
                let literal = template
                    .uri_template
                    .split('{')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                catalog.template_prefixes.push((literal, server.clone()));
                template.name = names::public_name(&prefix, server, &template.name);
                catalog.resource_templates.push(template);
            }
        }
        catalog
            .template_prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.1.cmp(&b.1)));
        catalog
    }

    /// The public name for `original`, or `None` when another server owns it (held back).
    fn claim_name(
        &mut self,
        kind: &'static str,
        server: &Arc<str>,
        original: &str,
        prefix: &str,
        owners: &Owners,
    ) -> Option<String> {
        let route = Route {
            server: server.clone(),
            original: original.to_string(),
        };
        let wanted = names::public_name(prefix, server, original);
        if let Some(owner) = owners.get(&(kind, wanted.clone()))
            && owner.server != *server
        {
            self.collisions.push(Collision {
                kind,
                wanted,
                kept: owner.clone(),
                other: route,
                resolution: Resolution::HeldBack,
            });
            return None;
        }
        let routes = match kind {
            "tool" => &mut self.tool_routes,
            _ => &mut self.prompt_routes,
        };
        let Some(kept) = routes.get(&wanted).cloned() else {
            routes.insert(wanted.clone(), route);
            return Some(wanted);
        };
        // The same server lists two names that sanitize alike: both stay, the second renamed.
        let mut salt = 1;
        let renamed_to = loop {
            let candidate = names::disambiguated(prefix, server, original, salt);
            if !routes.contains_key(&candidate) {
                break candidate;
            }
            salt += 1;
        };
        routes.insert(renamed_to.clone(), route.clone());
        self.collisions.push(Collision {
            kind,
            wanted,
            kept,
            other: route,
            resolution: Resolution::Renamed(renamed_to.clone()),
        });
        Some(renamed_to)
    }

    /// Same tools under the same names, leading to the same servers (two servers may list
    /// identical tools, so equal lists are not enough).
    pub fn same_tools(&self, other: &Catalog) -> bool {
        self.tools == other.tools && self.tool_routes == other.tool_routes
    }

    pub fn same_prompts(&self, other: &Catalog) -> bool {
        self.prompts == other.prompts && self.prompt_routes == other.prompt_routes
    }

    pub fn same_resources(&self, other: &Catalog) -> bool {
        self.resources == other.resources
            && self.resource_templates == other.resource_templates
            && self.resource_routes == other.resource_routes
            && self.template_prefixes == other.template_prefixes
    }

    pub fn route_tool(&self, public: &str) -> Option<&Route> {
        self.tool_routes.get(public)
    }

    /// The tool listed under `public`.
    pub fn tool(&self, public: &str) -> Option<&Tool> {
        self.tool_positions.get(public).map(|&i| &self.tools[i])
    }

    pub fn route_prompt(&self, public: &str) -> Option<&Route> {
        self.prompt_routes.get(public)
    }

    /// The server that owns `uri`: an exact resource first, then the template with the longest
    /// literal prefix that `uri` starts with.
    pub fn route_resource(&self, uri: &str) -> Option<Route> {
        if let Some(route) = self.resource_routes.get(uri) {
            return Some(route.clone());
        }
        self.template_prefixes
            .iter()
            .find(|(prefix, _)| !prefix.is_empty() && uri.starts_with(prefix.as_str()))
            .or_else(|| self.template_prefixes.iter().find(|(p, _)| p.is_empty()))
            .map(|(_, server)| Route {
                server: server.clone(),
                original: uri.to_string(),
            })
    }

    pub fn tool_count(&self) -> usize {
        self.tools.len()
    }
}

/// For each tool or prompt name that more than one server wants: which server's item gets it.
fn owners(listings: &BTreeMap<Arc<str>, Arc<ServerListing>>, naming: &Naming) -> Owners {
    let mut wanted: HashMap<(&'static str, String), Vec<Route>> = HashMap::new();
    for (server, listing) in listings {
        let prefix = naming.prefix(server);
        let items = listing
            .tools
            .iter()
            .map(|t| ("tool", t.name.as_ref()))
            .chain(listing.prompts.iter().map(|p| ("prompt", p.name.as_str())));
        for (kind, original) in items {
            let claimants = wanted
                .entry((kind, names::public_name(&prefix, server, original)))
                .or_default();
            if claimants.iter().all(|r| r.server != *server) {
                claimants.push(Route {
                    server: server.clone(),
                    original: original.to_string(),
                });
            }
        }
    }
    wanted
        .into_iter()
        .filter(|(_, claimants)| claimants.len() > 1)
        .map(|((kind, name), claimants)| {
            let owner = claimants
                .iter()
                .min_by(|a, b| {
                    (naming.rank(&a.server), &a.server).cmp(&(naming.rank(&b.server), &b.server))
                })
                .cloned()
                .expect("two or more claimants");
            ((kind, name), owner)
        })
        .collect()
}

#[cfg(test)]
mod tests;
