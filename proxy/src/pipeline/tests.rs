//! Phase order: admission front to back until a stage answers, response stages back to front for
//! every request, refused ones included.

use std::sync::Arc;

use http::StatusCode;
use parking_lot::Mutex;

use super::*;
use crate::error::Refusal;
use crate::exchange::{Method, Transport};

struct Probe {
    name: &'static str,
    refuse: bool,
    log: Arc<Mutex<Vec<String>>>,
}

impl Stage for Probe {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn on_request(&self, _ex: &mut Exchange) -> Flow {
        self.log.lock().push(format!("request {}", self.name));
        if self.refuse {
            Flow::Reply(ProxyError::Refused(Refusal::new(
                StatusCode::FORBIDDEN,
                "no",
            )))
        } else {
            Flow::Next
        }
    }
    async fn on_response(&self, ex: &mut Exchange) {
        self.log
            .lock()
            .push(format!("response {} {:?}", self.name, ex.outcome));
    }
}

fn pipeline(refuse_second: bool, log: &Arc<Mutex<Vec<String>>>) -> Pipeline<Probe> {
    let probe = |name, refuse| Probe {
        name,
        refuse,
        log: log.clone(),
    };
    Pipeline::new(vec![
        probe("a", false),
        probe("b", refuse_second),
        probe("c", false),
    ])
}

#[tokio::test]
async fn a_refusal_stops_admission_and_every_response_stage_still_runs() {
    let log = Arc::default();
    let pipeline = pipeline(true, &log);
    let mut ex = Exchange::new(Transport::Http, Method::ToolsCall);
    let refused = pipeline.admit(&mut ex).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    pipeline.finish(&mut ex).await;
    let outcome = format!(
        "{:?}",
        Outcome::Refused {
            stage: "b",
            status: StatusCode::FORBIDDEN,
            code: crate::error::code::FORBIDDEN
        }
    );
    assert_eq!(
        *log.lock(),
        vec![
            "request a".to_string(),
            "request b".to_string(),
            format!("response c {outcome}"),
            format!("response b {outcome}"),
            format!("response a {outcome}"),
        ]
    );
}

#[tokio::test]
async fn an_admitted_request_passes_every_stage_in_order() {
    let log = Arc::default();
    let pipeline = pipeline(false, &log);
    let mut ex = Exchange::new(Transport::Stdio, Method::Ping);
    pipeline.admit(&mut ex).await.unwrap();
    assert!(ex.timings.admitted.is_some());
    ex.answered(Outcome::Ok);
    pipeline.finish(&mut ex).await;
    let expected = [
        "request a",
        "request b",
        "request c",
        "response c Ok",
        "response b Ok",
        "response a Ok",
    ];
    assert_eq!(*log.lock(), expected);
}
