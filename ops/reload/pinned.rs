//! The keys a running gateway cannot change (its listener, its stores, its model): a reload keeps
//! their current values and names each one it was asked to change, so nothing is silently ignored.

use ucp_config::Config;

/// Copies every restart-only key of `running` into `next`; returns one line per key that differed,
/// `path: old -> new` (values of keys that may hold secrets are not shown).
pub fn keep_restart_only(running: &Config, next: &mut Config, stdio: bool) -> Vec<String> {
    let mut named = Vec::new();
    // `keep!(path, field.path)`: shows both values; `keep!(quiet path, ...)`: says it changed.
    macro_rules! keep {
        ($path:literal, $($field:ident).+) => {
            if running.$($field).+ != next.$($field).+ {
                named.push(format!(
                    "{}: {:?} -> {:?}",
                    $path,
                    running.$($field).+,
                    next.$($field).+
                ));
                next.$($field).+ = running.$($field).+.clone();
            }
        };
        (quiet $path:literal, $($field:ident).+) => {
            if running.$($field).+ != next.$($field).+ {
                named.push(format!("{}: changed", $path));
                next.$($field).+ = running.$($field).+.clone();
            }
        };
    }
    keep!("server.transport", server.transport);
    // Every metric carries it as a label, fixed when the registry was made.
    keep!("server.region", server.region);
    // Only read at start.
    keep!("server.ready_timeout", server.ready_timeout);
    keep!("server.host", server.host);
    keep!("server.port", server.port);
    keep!("server.log_format", server.log_format);
    keep!("server.log_output", server.log_output);
    keep!("server.ssl.enabled", server.ssl.enabled);
    keep!("server.ssl.cert_path", server.ssl.cert_path);
    keep!("server.ssl.key_path", server.ssl.key_path);
    keep!("server.ssl.min_tls_version", server.ssl.min_tls_version);
    keep!("server.ssl.ciphers", server.ssl.ciphers);
    keep!("server.metrics.enabled", server.metrics.enabled);
    keep!("server.metrics.port", server.metrics.port);
    keep!("server.metrics.path", server.metrics.path);
    keep!("tool_zoo.embedding_model", tool_zoo.embedding_model);
    keep!("tool_zoo.persist_dir", tool_zoo.persist_dir);
    keep!("session.backend", session.backend);
    keep!("session.persist_dir", session.persist_dir);
    keep!(quiet "session.redis", session.redis);
    // rmcp's session manager holds the idle timeout it was made with.
    keep!("session.idle_timeout", session.idle_timeout);
    // The session store holds the history length and TTL it was opened with.
    keep!("session.max_history", session.max_history);
    keep!("session.ttl", session.ttl);
    if stdio {
        // The stdio front reads lines with the limit it started with.
        keep!("server.max_body_bytes", server.max_body_bytes);
    }
    named
}

/// The top-level sections (and server subsections) that differ, for the reload's log line.
pub fn changed_sections(old: &Config, new: &Config) -> Vec<&'static str> {
    let (o, n) = (&old.server, &new.server);
    let mut changed = Vec::new();
    let mut check = |name, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("server.auth", o.auth != n.auth);
    check("server.limits", o.limits != n.limits);
    check("server.ui", o.ui != n.ui);
    check(
        "server",
        (
            o.max_body_bytes,
            &o.allowed_origins,
            &o.allowed_hosts,
            o.log_level,
            o.sanitize_logs,
        ) != (
            n.max_body_bytes,
            &n.allowed_origins,
            &n.allowed_hosts,
            n.log_level,
            n.sanitize_logs,
        ) || (o.admit_ops_endpoints, o.allow_public_without_auth, &o.name)
            != (n.admit_ops_endpoints, n.allow_public_without_auth, &n.name),
    );
    check("router", old.router != new.router);
    check("tool_zoo", old.tool_zoo != new.tool_zoo);
    check("session", old.session != new.session);
    check(
        "downstream_servers",
        old.downstream_servers != new.downstream_servers,
    );
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        ucp_config::parse(yaml, &|_| None).expect("config").config
    }

    #[test]
    fn restart_only_keys_keep_their_running_values_and_are_named() {
        let running = config(
            "server:\n  port: 8080\n  log_level: info\nsession:\n  redis:\n    password: old-secret\n",
        );
        let mut next = config(
            "server:\n  port: 9090\n  log_level: debug\nsession:\n  redis:\n    password: new-secret\n",
        );
        let named = keep_restart_only(&running, &mut next, false);
        assert_eq!(
            named,
            ["server.port: 8080 -> 9090", "session.redis: changed"]
        );
        assert_eq!(next.server.port, 8080);
        assert_eq!(next.session.redis.password.as_deref(), Some("old-secret"));
        // Reloadable keys keep the new value.
        assert_eq!(next.server.log_level, ucp_config::LogLevel::Debug);
        assert!(named.iter().all(|n| !n.contains("secret")));
    }

    #[test]
    fn the_stdio_front_keeps_its_line_limit() {
        let running = config("server:\n  max_body_bytes: 4096\n");
        let mut next = config("server:\n  max_body_bytes: 8192\n");
        assert!(keep_restart_only(&running, &mut next.clone(), false).is_empty());
        let named = keep_restart_only(&running, &mut next, true);
        assert_eq!(named, ["server.max_body_bytes: 4096 -> 8192"]);
    }

    #[test]
    fn changed_sections_names_what_differs() {
        let old = config("server:\n  limits:\n    max_connections: 1000\n");
        let new =
            config("server:\n  limits:\n    max_connections: 2000\nrouter:\n  max_tools: 7\n");
        assert_eq!(changed_sections(&old, &new), ["server.limits", "router"]);
        assert!(changed_sections(&old, &old).is_empty());
    }
}
