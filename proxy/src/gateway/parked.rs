//! Calls of 2026-07-28 clients that wait for the client's answers to an older server's questions.
//!
//! A 2025-11-25 server asks for sampling, elicitation or roots with a request in the middle of a
//! tool call; a 2026-07-28 client takes no such requests, only input-required results. So the
//! gateway drives the downstream call as a boxed future, and when the server asks, answers the
//! client's call with an `InputRequiredResult` whose `requestState` names the parked future. The
//! client's retry (same tool, `inputResponses`, that `requestState`) delivers the answers to the
//! waiting server and polls the same future on: the call may finish, or ask again. No task is
//! spawned: a call that never asks costs one box.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rmcp::model::{CallToolResponse, InputRequests, InputRequiredResult, InputResponses};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::ProxyError;
use crate::relay::Question;

/// How many calls may wait for their clients at once; more is refused, not queued.
const MAX_PARKED: usize = 1024;
/// A parked call whose client never comes back is dropped: its questions then fail, which ends the
/// downstream call.
const PARKED_FOR: Duration = Duration::from_secs(300);
/// What marks a `requestState` as the gateway's own, not a downstream's.
const STATE_PREFIX: &str = "ucp-parked.";

/// A downstream call of a 2026-07-28 client, owned so it can be parked between the client's requests.
pub type Call = Pin<Box<dyn Future<Output = Result<CallToolResponse, ProxyError>> + Send>>;

/// A downstream call in flight and the questions it is waiting on. Dropped, its questions are
/// answered with an error, so the server's call ends instead of waiting for its timeout.
pub struct Parked {
    /// The public tool name, so a retry cannot resume another tool's call.
    tool: String,
    call: Call,
    /// What the call's downstream request is cancelled by: the gateway's own token, cancelled when
    /// the client cancels whichever of its requests is driving the call (each request's own token
    /// ends with that request, which a parked call outlives).
    cancel: CancellationToken,
    questions: mpsc::UnboundedReceiver<Question>,
    /// The questions put to the client, by their `inputRequests` key.
    waiting: BTreeMap<String, Question>,
    until: Instant,
}

#[derive(Default)]
pub struct ParkedCalls {
    calls: Mutex<HashMap<String, Parked>>,
}

impl ParkedCalls {
    /// Whether `state` (a retry's `requestState`) is one this gateway issued.
    pub fn is_ours(state: Option<&str>) -> bool {
        state.is_some_and(|s| s.starts_with(STATE_PREFIX))
    }

    /// Polls a downstream call for a 2026-07-28 client until it finishes or asks the client.
    /// `cancel` is the token the call's downstream request listens to; `client` is the driving
    /// request's.
    pub async fn drive(
        &self,
        tool: String,
        mut call: Call,
        cancel: CancellationToken,
        client: &CancellationToken,
        mut questions: mpsc::UnboundedReceiver<Question>,
    ) -> Result<CallToolResponse, ProxyError> {
        tokio::select! {
            done = &mut call => done,
            _ = client.cancelled() => {
                cancel.cancel(); // the downstream is told, and the call ends at once
                call.await
            }
            Some(first) = questions.recv() => {
                let mut waiting = BTreeMap::new();
                let mut requests = InputRequests::new();
                let mut next = Some(first);
                while let Some(question) = next {
                    let key = format!("ucp-{}", waiting.len() + 1);
                    requests.insert(key.clone(), question.request.clone());
                    waiting.insert(key, question);
                    next = questions.try_recv().ok();
                }
                let state = self.park(Parked { tool, call, cancel, questions, waiting, until: Instant::now() + PARKED_FOR })?;
                Ok(CallToolResponse::InputRequired(InputRequiredResult::new(Some(requests), Some(state))))
            }
        }
    }

    /// A client's retry: its answers go to the waiting server, then the call is driven on.
    pub async fn resume(
        &self,
        tool: &str,
        state: &str,
        mut answers: InputResponses,
        client: &CancellationToken,
    ) -> Result<CallToolResponse, ProxyError> {
        let parked = self.calls.lock().remove(state);
        let Some(mut parked) = parked.filter(|p| p.until > Instant::now()) else {
            return Err(ProxyError::InvalidParams(
                "requestState names no call waiting for input (it ended, expired or was answered)"
                    .to_string(),
            ));
        };
        if parked.tool != tool {
            let wanted = parked.tool.clone();
            self.calls.lock().insert(state.to_string(), parked);
            return Err(ProxyError::InvalidParams(format!(
                "requestState belongs to a call of {wanted}, not {tool}"
            )));
        }
        for (key, question) in std::mem::take(&mut parked.waiting) {
            question.answer_with(answers.remove(&key));
        }
        self.drive(
            parked.tool,
            parked.call,
            parked.cancel,
            client,
            parked.questions,
        )
        .await
    }

    fn park(&self, parked: Parked) -> Result<String, ProxyError> {
        let mut calls = self.calls.lock();
        let now = Instant::now();
        calls.retain(|_, p| p.until > now);
        if calls.len() >= MAX_PARKED {
            return Err(ProxyError::Internal(format!(
                "{MAX_PARKED} calls already wait for their clients' input"
            )));
        }
        let state = format!("{STATE_PREFIX}{}", token());
        calls.insert(state.clone(), parked);
        Ok(state)
    }
}

/// 128 random bits, hex: a `requestState` another client cannot guess.
fn token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(
    deprecated,
    reason = "roots/list is the simplest question a server can ask"
)]
mod tests {
    use rmcp::model::{
        CallToolResult, ClientResult, ContentBlock, InputRequest, ListRootsRequest, ListRootsResult,
    };
    use serde_json::json;
    use tokio::sync::oneshot;

    use super::*;
    use crate::relay::Capability;

    #[tokio::test]
    async fn a_parked_call_resumes_with_the_answer_once_and_only_for_its_tool() {
        let parked = ParkedCalls::default();
        let (questions, asked) = mpsc::unbounded_channel();
        let (answer, answered) = oneshot::channel();
        questions
            .send(Question {
                what: Capability::Roots,
                request: InputRequest::ListRoots(ListRootsRequest::default()),
                answer,
            })
            .unwrap();
        let call: Call = Box::pin(async move {
            let roots = match answered.await.unwrap() {
                Ok(ClientResult::ListRootsResult(r)) => r.roots.len(),
                other => panic!("{other:?}"),
            };
            Ok(CallToolResponse::Complete(CallToolResult::success(vec![
                ContentBlock::text(format!("{roots} roots")),
            ])))
        });
        let client = CancellationToken::new();
        let first = parked
            .drive("t".into(), call, CancellationToken::new(), &client, asked)
            .await
            .unwrap();
        let CallToolResponse::InputRequired(first) = first else {
            panic!("the question comes back as an input-required result")
        };
        let state = first.request_state.expect("our requestState");
        assert!(ParkedCalls::is_ours(Some(&state)));
        let key = first.input_requests.unwrap().into_keys().next().unwrap();

        let other = parked
            .resume("other", &state, InputResponses::new(), &client)
            .await;
        assert!(
            matches!(other, Err(ProxyError::InvalidParams(_))),
            "{other:?}"
        );

        let roots = serde_json::to_value(ListRootsResult::new(vec![])).unwrap();
        let answers = InputResponses::from([(key, roots)]);
        let done = parked.resume("t", &state, answers, &client).await.unwrap();
        let CallToolResponse::Complete(done) = done else {
            panic!("the call finished")
        };
        assert_eq!(
            serde_json::to_value(&done.content).unwrap(),
            json!([{"type": "text", "text": "0 roots"}])
        );
        let again = parked
            .resume("t", &state, InputResponses::new(), &client)
            .await;
        assert!(
            matches!(again, Err(ProxyError::InvalidParams(_))),
            "spent: {again:?}"
        );
    }
}
