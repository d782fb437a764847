//! The aggregated catalog: every downstream's tools, prompts, resources and templates under public
//! names, plus the route table that maps each public name back to its server and original name.
//!
//! A catalog is immutable and rebuilt from scratch whenever any server's listing changes; it lives in
//! the snapshot, so a request sees one consistent catalog from start to end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rmcp::model::{Prompt, Resource, ResourceTemplate, Tool};

use crate::names;

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

/// Two downstream items that wanted the same public name; the second got `renamed_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub kind: &'static str,
    pub wanted: String,
    pub kept: Route,
    pub renamed: Route,
    pub renamed_to: String,
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

impl Catalog {
    /// Builds the catalog from each server's listing. Servers are visited in name order and items in
    /// their listed order, so the same listings always give the same names.
    pub fn build(listings: &BTreeMap<Arc<str>, Arc<ServerListing>>, separator: &str) -> Catalog {
        let mut catalog = Catalog::default();
        for (server, listing) in listings {
            catalog
                .tools_per_server
                .insert(server.clone(), listing.tools.len());
            for tool in &listing.tools {
                let public = catalog.claim_name("tool", server, &tool.name, separator);
                let mut tool = tool.clone();
                catalog
                    .tool_positions
                    .insert(public.clone(), catalog.tools.len());
                tool.name = public.into();
                catalog.tools.push(tool);
            }
            for prompt in &listing.prompts {
                let public = catalog.claim_name("prompt", server, &prompt.name, separator);
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
                        renamed: route.clone(),
                        renamed_to: renamed_to.clone(),
                    });
                    resource.uri = renamed_to;
                }
                resource.name = names::namespaced(server, &resource.name, separator);
                catalog.resource_routes.insert(resource.uri.clone(), route);
                catalog.resources.push(resource);
            }
            for template in &listing.resource_templates {
                let mut template = template.clone();
                let prefix = template
                    .uri_template
                    .split('{')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                catalog.template_prefixes.push((prefix, server.clone()));
                template.name = names::namespaced(server, &template.name, separator);
                catalog.resource_templates.push(template);
            }
        }
        catalog
            .template_prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.1.cmp(&b.1)));
        catalog
    }

    fn claim_name(
        &mut self,
        kind: &'static str,
        server: &Arc<str>,
        original: &str,
        sep: &str,
    ) -> String {
        let routes = match kind {
            "tool" => &mut self.tool_routes,
            _ => &mut self.prompt_routes,
        };
        let route = Route {
            server: server.clone(),
            original: original.to_string(),
        };
        let wanted = names::namespaced(server, original, sep);
        if !routes.contains_key(&wanted) {
            routes.insert(wanted.clone(), route);
            return wanted;
        }
        let kept = routes[&wanted].clone();
        let mut salt = 1;
        let renamed_to = loop {
            let candidate = names::disambiguated(server, original, sep, salt);
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
            renamed: route,
            renamed_to: renamed_to.clone(),
        });
        renamed_to
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

#[cfg(test)]
mod tests;
