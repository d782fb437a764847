//! The nginx site of the deploy kit: read for what `/mcp` gets (SSE unbuffered, long timeouts,
//! upstream keepalive, the gateway's port and body limit), then `nginx -t`.

use std::fs;
use std::process::Command;

use super::*;

const NGINX_SETUP: &str = "scripts/setup.sh installs nginx (apt)";

#[test]
fn the_nginx_site_passes_nginx_t_and_streams_mcp_unbuffered_to_the_gateway_s_port() {
    let site = read_kit("nginx-ucp.conf");
    let conf = nginx::parse(&site);
    let template = template_defaults();

    // The upstream is the gateway's default listener, kept alive over HTTP/1.1.
    let upstream = nginx::find(&conf, "upstream").expect("an upstream block");
    let name = &upstream.args[0];
    let servers: Vec<&str> = nginx::all(upstream.body(), "server")
        .map(|s| s.args[0].as_str())
        .collect();
    let default_addr = format!(
        "{}:{}",
        template["server"]["host"].as_str().expect("server.host"),
        template_u64(&template, "server", "port")
    );
    assert_eq!(servers, [default_addr.as_str()], "upstream {name}");
    assert!(
        nginx::find(upstream.body(), "keepalive").is_some(),
        "upstream keepalive"
    );

    let tls = nginx::all(&conf, "server")
        .find(|s| nginx::all(s.body(), "listen").any(|l| l.args.iter().any(|a| a == "ssl")))
        .expect("a server block with `listen ... ssl`");
    let mcp = nginx::all(tls.body(), "location")
        .find(|l| l.args == ["=", "/mcp"])
        .expect("location = /mcp");
    let lookup = |name: &str| nginx::effective(mcp.body(), tls.body(), name);
    let value = |name: &str| -> String {
        lookup(name)
            .unwrap_or_else(|| panic!("/mcp: no {name}"))
            .args
            .join(" ")
    };
    assert_eq!(value("proxy_pass"), format!("http://{name}"));
    // SSE: every event reaches the client when the gateway writes it, for as long as it streams.
    assert_eq!(value("proxy_buffering"), "off");
    assert_eq!(value("proxy_request_buffering"), "off");
    assert_eq!(value("proxy_cache"), "off");
    assert_ne!(value("gzip"), "on", "gzip buffers SSE events");
    for timeout in ["proxy_read_timeout", "proxy_send_timeout"] {
        let secs = nginx::seconds(&value(timeout));
        assert!(
            secs >= 3600,
            "/mcp {timeout} {secs}s: SSE streams outlive it"
        );
    }
    // Upstream keepalive needs HTTP/1.1 and no `Connection: close` from nginx.
    assert_eq!(value("proxy_http_version"), "1.1");
    let headers = nginx::headers(mcp.body(), tls.body());
    assert_eq!(headers.get("connection").map(String::as_str), Some(""));
    assert_eq!(headers.get("host").map(String::as_str), Some("$host"));
    // The body limit is the gateway's: a larger body is refused by one or the other alike.
    let max_body = template_u64(&template, "server", "max_body_bytes");
    assert_eq!(
        nginx::bytes(
            &nginx::effective(mcp.body(), tls.body(), "client_max_body_size")
                .expect("client_max_body_size")
                .args[0]
        ),
        max_body,
        "client_max_body_size vs server.max_body_bytes"
    );
    let metrics = nginx::all(tls.body(), "location")
        .find(|l| l.args == ["=", "/metrics"])
        .expect("location = /metrics");
    assert!(
        nginx::all(metrics.body(), "deny").any(|d| d.args == ["all"]),
        "/metrics is not public"
    );

    // `nginx -t` on the site as committed, but for the certificate (a fresh self-signed pair).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    success(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args([
                "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2",
            ])
            .args(["-subj", "/CN=ucp.yourdomain.com"])
            .current_dir(dir.path()),
        "scripts/setup.sh installs openssl (apt)",
    );
    for path in ["/etc/ucp/ssl/cert.pem", "/etc/ucp/ssl/key.pem"] {
        assert!(site.contains(path), "the site names {path}");
    }
    let site = site
        .replace("/etc/ucp/ssl/cert.pem", &format!("{d}/cert.pem"))
        .replace("/etc/ucp/ssl/key.pem", &format!("{d}/key.pem"));
    fs::write(dir.path().join("site.conf"), site).unwrap();
    // Debian's nginx.conf includes sites-enabled/* inside http{}; this one does the same with
    // every path nginx writes kept in the temp dir.
    fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log {d}/access.log;\n  \
             client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n"
        ),
    )
    .unwrap();
    let out = success(
        Command::new("nginx")
            .args(["-t", "-p", &d, "-c"])
            .arg(dir.path().join("nginx.conf")),
        NGINX_SETUP,
    );
    assert!(out.contains("test is successful"), "{out}");
}
