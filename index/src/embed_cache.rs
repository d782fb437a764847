//! Embedding a catalog through the store: texts already embedded by this model are read back,
//! only the rest go through the model, and those are written back in one batch.

use crate::embedder::Embedder;
use crate::error::IndexError;
use crate::store::Store;

/// What embedding a catalog cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbedStats {
    pub from_store: usize,
    pub computed: usize,
}

/// Embeddings of `texts` in input order. `progress(done, total)` is called as model batches finish.
pub fn embed_texts(
    embedder: &Embedder,
    store: Option<&Store>,
    texts: &[&str],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Vec<f32>>, EmbedStats), IndexError> {
    let stored = match store {
        Some(store) => store.embeddings(embedder.model_id(), texts)?,
        None => vec![None; texts.len()],
    };
    let missing: Vec<usize> = (0..texts.len()).filter(|&i| stored[i].is_none()).collect();
    let stats = EmbedStats {
        from_store: texts.len() - missing.len(),
        computed: missing.len(),
    };
    progress(stats.from_store, texts.len());
    let missing_texts: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
    let computed = embedder.embed_batch_with_progress(&missing_texts, &mut |done| {
        progress(stats.from_store + done, texts.len())
    })?;
    if let Some(store) = store {
        let items: Vec<(&str, &[f32])> = missing_texts
            .iter()
            .zip(&computed)
            .map(|(t, v)| (*t, v.as_slice()))
            .collect();
        store.put_embeddings(embedder.model_id(), &items)?;
    }
    let mut out = stored;
    for (i, vector) in missing.into_iter().zip(computed) {
        out[i] = Some(vector);
    }
    Ok((
        out.into_iter().map(Option::unwrap_or_default).collect(),
        stats,
    ))
}
