//! The seed's JSON log record: `{"timestamp", "level", "component", "message", "context"}`, one
//! per line. `component` is the event's `component` field, else the module it comes from;
//! `context` holds every other field and the event's target.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct SeedJson;

impl<S, N> FormatEvent<S, N> for SeedJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let component = fields
            .component
            .unwrap_or_else(|| component_of(meta.target()).to_string());
        let mut context = fields.context;
        context.insert("target".into(), Value::from(meta.target()));
        let mut record = Map::with_capacity(5);
        record.insert("timestamp".into(), Value::from(timestamp));
        record.insert("level".into(), Value::from(meta.level().as_str()));
        record.insert("component".into(), Value::from(component));
        record.insert("message".into(), Value::from(fields.message));
        record.insert("context".into(), Value::Object(context));
        let line = serde_json::to_string(&record).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

/// `ucp_proxy::downstream::link` → `proxy`; `rmcp::service` → `rmcp`; the binary's own → `gateway`.
fn component_of(target: &str) -> &str {
    let first = target.split("::").next().unwrap_or(target);
    match first {
        "ucp" => "gateway",
        other => other.strip_prefix("ucp_").unwrap_or(other),
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    component: Option<String>,
    context: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        match (field.name(), value) {
            ("message", Value::String(s)) => self.message = s,
            ("message", other) => self.message = other.to_string(),
            ("component", Value::String(s)) => self.component = Some(s),
            (name, value) => {
                self.context.insert(name.to_string(), value);
            }
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }

    /// A `?list` of strings (`tools_selected`) is kept as a JSON array; other debug values as text.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        let value = match field.name() != "message" && text.starts_with('[') {
            true => serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
            false => Value::String(text),
        };
        self.put(field, value);
    }
}

#[cfg(test)]
mod tests {
    use super::component_of;

    #[test]
    fn components_come_from_the_crate() {
        assert_eq!(component_of("ucp_proxy::downstream::link"), "proxy");
        assert_eq!(component_of("rmcp::service"), "rmcp");
        assert_eq!(component_of("ucp::serve"), "gateway");
        assert_eq!(component_of("ucp::access"), "gateway");
    }
}
