//! When the model is wanted and when a build tries to load it, with a loader that counts its calls
//! (no model files needed: it fails, as a missing model does).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ucp_config::{Config, Exposure, RouterMode};

use super::{Model, ModelState};

fn config(mode: RouterMode, exposure: Exposure) -> Config {
    let mut config = Config::default();
    config.router.mode = mode;
    config.router.exposure = exposure;
    config
}

fn counting() -> (Model, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let model = Model::lazy(Box::new(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        Err("no model files here".to_string())
    }));
    (model, calls)
}

#[test]
fn keyword_mode_never_loads() {
    let (model, calls) = counting();
    assert!(!model.configure(&config(RouterMode::Keyword, Exposure::Search)));
    model.selection_asked();
    assert!(!model.wanted());
    assert!(model.for_build().is_none());
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    assert_eq!(model.state(), ModelState::NotLoaded);
}

#[test]
fn exposure_all_loads_only_after_a_selection() {
    let (model, calls) = counting();
    assert!(!model.configure(&config(RouterMode::Hybrid, Exposure::All)));
    assert!(model.for_build().is_none());
    assert_eq!(calls.load(Ordering::Relaxed), 0, "nothing selects yet");
    model.selection_asked();
    assert!(model.wanted());
    assert!(model.for_build().is_none(), "the loader fails");
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(model.state(), ModelState::Unavailable);
}

#[test]
fn a_failed_load_is_retried_only_after_a_reload() {
    let (model, calls) = counting();
    assert!(model.configure(&config(RouterMode::Semantic, Exposure::Search)));
    model.for_build();
    model.for_build();
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(model.configure(&config(RouterMode::Hybrid, Exposure::Dynamic)));
    model.for_build();
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_selection_under_exposure_all_wakes_the_writer_once() {
    let (model, _) = counting();
    model.configure(&config(RouterMode::Hybrid, Exposure::All));
    model.selection_asked();
    model.selection_asked();
    tokio::time::timeout(std::time::Duration::from_secs(1), model.wanted_changed())
        .await
        .expect("woken");
    let again =
        tokio::time::timeout(std::time::Duration::from_millis(50), model.wanted_changed()).await;
    assert!(again.is_err(), "only the first selection wakes it");
}

#[test]
fn a_fixed_model_without_embedder_is_unavailable_when_wanted() {
    let model = Model::fixed(None);
    assert_eq!(model.state(), ModelState::Unavailable);
    model.configure(&config(RouterMode::Keyword, Exposure::Search));
    assert_eq!(model.state(), ModelState::NotLoaded);
}
