//! UCP configuration: YAML text in, a validated `Config` out, with every problem named by its YAML path.
//!
//! Pure: no file IO, no environment access, no async. Callers hand in the YAML text and a variable
//! lookup; `parse` expands `${VAR}`, reads the YAML into unvalidated `Raw*` shapes (collecting every
//! unknown key), then validates into `Config`, where invalid states cannot be represented.

mod error;
mod interpolate;
mod load;
mod model;
mod paths;
mod raw;
mod schema;
mod template;
mod validate;

pub use error::{ConfigError, ConfigErrors};
pub use interpolate::interpolate;
pub use load::{Loaded, parse};
pub use model::{
    ApiKeyConfig, AuthConfig, AuthProvider, CacheConfig, Config, ConnectionLimits,
    DEFAULT_DOWNSTREAM_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_RESULT_BYTES, DownstreamConfig,
    DownstreamTransport, Exposure, JwtAlgorithm, LogFormat, LogLevel, LogOutput, MAX_POLICY_RULES,
    MetricsConfig, OAuth2Config, PolicyConfig, PolicyRule, RESOURCE_METADATA_PATH, RateLimitConfig,
    RedisConfig, RedisTls, RouterConfig, RouterMode, ServerConfig, ServerTransport, SessionBackend,
    SessionConfig, SslConfig, TlsVersion, ToolZooConfig, UiConfig,
};
pub use schema::json_schema;
pub use template::INIT_TEMPLATE;
