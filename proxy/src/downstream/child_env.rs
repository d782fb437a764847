//! The environment a stdio server starts with: only what running a program needs (where programs
//! and home are, locale, time zone, temp dir, proxy and CA settings for servers that fetch), never
//! the rest of the gateway's environment, which holds its own secrets and other servers' tokens.
//! The server's configured `env` is added on top.

/// Variables passed through from the gateway when set.
const PASSED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TERM",
    "XDG_RUNTIME_DIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
];

/// The passed-through variables that are set in the gateway's environment.
pub fn inherited() -> impl Iterator<Item = (&'static str, std::ffi::OsString)> {
    PASSED
        .iter()
        .filter_map(|name| std::env::var_os(name).map(|value| (*name, value)))
}
