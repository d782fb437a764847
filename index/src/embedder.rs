//! Local sentence embeddings (all-MiniLM-L6-v2 on ONNX Runtime), so tool selection can rank tools
//! by meaning, offline.
//!
//! Model, tokenizer and ONNX Runtime library are files installed by `scripts/setup.sh`; nothing is
//! downloaded here. ONNX Runtime is loaded at run time (`ort`'s `load-dynamic`) once per process:
//! the first [`Embedder::load`] picks the library for the whole process. No `catch_unwind`:
//! `ort::init_from` returns errors for a missing, foreign or too-old library; its one `expect` (on
//! `current_exe`) is only reached for relative paths and we pass a canonical absolute one; and no
//! other `ort` call (which would panic without a library) is made before it has succeeded.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::bounded_lru::BoundedLru;
use crate::error::{IndexError, SETUP_HINT};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";
pub const DIM: usize = 384;
/// File name `scripts/setup.sh` installs next to the model.
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";
/// Oldest ONNX Runtime that `ort`'s `api-31` feature accepts.
pub const ORT_MIN_VERSION: &str = "1.31";
const MODEL_FILE: &str = "model.onnx";
const TOKENIZER_FILE: &str = "tokenizer.json";
const OUTPUT: &str = "last_hidden_state";
/// Padded tokens per model run. ONNX Runtime's arena keeps its peak for the life of the process:
/// 32 x 256 tokens left ~1 GB resident, 1024 leaves ~350 MB (the model alone ~270 MB), same speed.
const MAX_CHUNK_TOKENS: usize = 1024;

#[derive(Debug, Clone)]
pub struct EmbedderConfig {
    /// Directory holding `model.onnx` and `tokenizer.json`.
    pub model_dir: PathBuf,
    /// Path of `libonnxruntime.so` (>= 1.31).
    pub ort_library: PathBuf,
    /// ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose.
    pub intra_threads: usize,
    /// Whether idle intra-op threads spin waiting for work (ONNX Runtime's default) instead of
    /// sleeping at once.
    pub intra_spinning: bool,
    /// Texts per model run in bulk embedding (~32 keeps peak memory low).
    pub batch_size: usize,
    /// Tokens kept per text, special tokens included (the model was trained on 256; limit 512).
    pub max_tokens: usize,
    /// Tokens kept per query (`embed_query`), special tokens included; 0: `max_tokens`. Queries
    /// only: stored tool vectors do not depend on it.
    pub query_max_tokens: usize,
    /// Entries of the query LRU cache; 0 disables it.
    pub query_cache_size: usize,
    /// Bytes the query cache may hold (query text + vector per entry), whatever the entry count.
    pub query_cache_bytes: usize,
}

impl EmbedderConfig {
    /// Defaults; `ort_library` is `ORT_DYLIB_PATH` if set, else `model_dir/ORT_LIBRARY_FILE`.
    pub fn from_env_and_dir(model_dir: impl Into<PathBuf>) -> Self {
        let model_dir = model_dir.into();
        let ort_library = match std::env::var_os("ORT_DYLIB_PATH") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => model_dir.join(ORT_LIBRARY_FILE),
        };
        Self {
            model_dir,
            ort_library,
            intra_threads: 2,
            intra_spinning: true,
            batch_size: 32,
            max_tokens: 256,
            query_max_tokens: 0,
            query_cache_size: 4096,
            query_cache_bytes: QUERY_CACHE_BYTES,
        }
    }
}

/// Default byte budget of the query cache: 4,096 short queries (~1.6 KiB each with the vector)
/// fit; long queries evict older ones instead of growing the process.
/// Bookkeeping per cached query besides its text and vector (map node, `String`, `Arc`).
const CACHE_ENTRY_OVERHEAD: usize = 96;

pub const QUERY_CACHE_BYTES: usize = 8 << 20;

/// Process-wide ONNX Runtime: `ort` allows one library and one environment per process.
static RUNTIME: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

pub struct Embedder {
    tokenizer: Tokenizer,
    /// The tokenizer truncating at `query_max_tokens`, when that is shorter.
    query_tokenizer: Option<Tokenizer>,
    /// `Session::run` takes `&mut`: runs are serialised, one chunk at a time, so queries can
    /// slip in between the chunks of a bulk job.
    session: Mutex<Session>,
    has_token_type_ids: bool,
    model_id: String,
    batch_size: usize,
    cache: Option<Mutex<BoundedLru<String, Arc<[f32]>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Embedder {
    pub fn load(config: EmbedderConfig) -> Result<Embedder, IndexError> {
        if config.batch_size == 0 {
            return Err(IndexError::Config("batch_size must be >= 1".into()));
        }
        if !(8..=512).contains(&config.max_tokens) {
            return Err(IndexError::Config(format!(
                "max_tokens must be in 8..=512, got {}",
                config.max_tokens
            )));
        }
        let model_path = existing(&config.model_dir.join(MODEL_FILE))?;
        let tokenizer_path = existing(&config.model_dir.join(TOKENIZER_FILE))?;
        let env = runtime(&config.ort_library)?;

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(IndexError::Tokenizer)?;
        // tokenizer.json pads every text to 128 tokens; run_chunk pads to the chunk's longest text.
        tokenizer.with_padding(None);
        let truncation = TruncationParams {
            max_length: config.max_tokens,
            ..TruncationParams::default()
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(IndexError::Tokenizer)?;

        let query_tokenizer = match config.query_max_tokens {
            n if n == 0 || n >= config.max_tokens => None,
            n if n < 8 => {
                return Err(IndexError::Config(format!(
                    "query_max_tokens must be 0 or at least 8, got {n}"
                )));
            }
            n => {
                let mut query = tokenizer.clone();
                query
                    .with_truncation(Some(TruncationParams {
                        max_length: n,
                        ..TruncationParams::default()
                    }))
                    .map_err(IndexError::Tokenizer)?;
                Some(query)
            }
        };
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| IndexError::Io {
                path: path.into(),
                source,
            })
        };
        let (model, tokenizer_bytes) = (read(&model_path)?, read(&tokenizer_path)?);
        let mut builder = Session::builder(&env)?;
        if config.intra_threads > 0 {
            builder = builder
                .with_intra_threads(config.intra_threads)
                .map_err(ort::Error::from)?;
        }
        if !config.intra_spinning {
            builder = builder
                .with_intra_op_spinning(false)
                .map_err(ort::Error::from)?;
        }
        let session = builder.commit_from_memory(&model)?;
        let has_input = |n: &str| session.inputs().iter().any(|i| i.name() == n);
        if !has_input("input_ids")
            || !has_input("attention_mask")
            || !session.outputs().iter().any(|o| o.name() == OUTPUT)
        {
            return Err(IndexError::Model(format!(
                "{} lacks input_ids/attention_mask/{OUTPUT}",
                model_path.display()
            )));
        }
        let has_token_type_ids = has_input("token_type_ids");

        // Everything that changes the vectors goes into the id: weights, tokenizer, truncation.
        let mut hash = Sha256::new();
        hash.update(&model);
        hash.update(&tokenizer_bytes);
        hash.update((config.max_tokens as u64).to_le_bytes());
        let hex: String = hash.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();

        Ok(Embedder {
            tokenizer,
            query_tokenizer,
            session: Mutex::new(session),
            has_token_type_ids,
            model_id: format!("minilm-l6-v2:{hex}"),
            batch_size: config.batch_size,
            cache: (config.query_cache_size > 0).then(|| {
                Mutex::new(BoundedLru::new(
                    config.query_cache_size,
                    config.query_cache_bytes,
                ))
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// Stable id for persisted embeddings: changes whenever the vectors could change.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// One query, LRU-cached by exact text (bounded by entries and bytes).
    pub fn embed_query(&self, text: &str) -> Result<Arc<[f32]>, IndexError> {
        if let Some(v) = self
            .cache
            .as_ref()
            .and_then(|c| c.lock().get(text).cloned())
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let tokenizer = self.query_tokenizer.as_ref().unwrap_or(&self.tokenizer);
        let encoding = tokenizer
            .encode(text, true)
            .map_err(IndexError::Tokenizer)?;
        let v: Arc<[f32]> = self
            .run_chunk(&[&encoding])?
            .pop()
            .unwrap_or_default()
            .into();
        if let Some(cache) = &self.cache {
            let size = text.len() + v.len() * std::mem::size_of::<f32>() + CACHE_ENTRY_OVERHEAD;
            cache.lock().put(text.to_owned(), Arc::clone(&v), size);
        }
        Ok(v)
    }

    /// `(hits, misses)` of the query cache.
    pub fn cache_stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Unit-length embeddings, in input order.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, IndexError> {
        self.embed_batch_with_progress(texts, &mut |_| {})
    }

    /// As [`Self::embed_batch`], calling `progress(done_so_far)` after each chunk.
    pub fn embed_batch_with_progress(
        &self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, IndexError> {
        let encodings = texts
            .iter()
            .map(|t| self.tokenizer.encode(*t, true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(IndexError::Tokenizer)?;
        // Similar lengths in a chunk waste little on padding (~2x faster on tool descriptions).
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        let (mut done, mut rest) = (0, &order[..]);
        while !rest.is_empty() {
            // At most batch_size texts and MAX_CHUNK_TOKENS padded tokens; lengths grow in order.
            let mut n = rest.len().min(self.batch_size);
            while n > 1 && n * encodings[rest[n - 1]].len() > MAX_CHUNK_TOKENS {
                n -= 1;
            }
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let seqs: Vec<_> = chunk.iter().map(|&i| &encodings[i]).collect();
            for (&i, v) in chunk.iter().zip(self.run_chunk(&seqs)?) {
                out[i] = v;
            }
            done += chunk.len();
            progress(done);
        }
        if texts.len() > 1 {
            self.shrink_arena()?;
        }
        Ok(out)
    }

    /// Hands back what ONNX Runtime's arena grew to during a bulk job (it otherwise keeps its peak
    /// for the life of the process): one one-token run with arena shrinkage on, which frees
    /// every arena region no tensor uses any more. Queries afterwards grow it again only as far
    /// as they need.
    fn shrink_arena(&self) -> Result<(), IndexError> {
        let mut options = ort::session::RunOptions::new()?;
        options.set("memory.enable_memory_arena_shrinkage", "cpu:0")?;
        let shape = [1usize, 1];
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, vec![0i64]))?,
            "attention_mask" => Tensor::from_array((shape, vec![1i64]))?,
        ];
        if self.has_token_type_ids {
            inputs.push((
                "token_type_ids".into(),
                Tensor::from_array((shape, vec![0i64]))?.into(),
            ));
        }
        self.session.lock().run_with_options(inputs, &options)?;
        Ok(())
    }

    fn run_chunk(&self, seqs: &[&tokenizers::Encoding]) -> Result<Vec<Vec<f32>>, IndexError> {
        let batch = seqs.len();
        let seq_len = seqs.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; batch * seq_len];
        let mut mask = vec![0i64; batch * seq_len];
        let mut types = vec![0i64; batch * seq_len];
        for (row, enc) in seqs.iter().enumerate() {
            let base = row * seq_len;
            let cells = enc
                .get_ids()
                .iter()
                .zip(enc.get_attention_mask())
                .zip(enc.get_type_ids());
            for (j, ((&id, &m), &t)) in cells.enumerate() {
                (ids[base + j], mask[base + j], types[base + j]) =
                    (i64::from(id), i64::from(m), i64::from(t));
            }
        }
        let shape = [batch, seq_len];
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, ids))?,
            "attention_mask" => Tensor::from_array((shape, mask.clone()))?,
        ];
        if self.has_token_type_ids {
            inputs.push((
                "token_type_ids".into(),
                Tensor::from_array((shape, types))?.into(),
            ));
        }
        let mut session = self.session.lock();
        let outputs = session.run(inputs)?;
        let hidden = outputs
            .get(OUTPUT)
            .ok_or_else(|| IndexError::Model(format!("no output {OUTPUT}")))?;
        let (out_shape, data) = hidden.try_extract_tensor::<f32>()?;
        if **out_shape != [batch as i64, seq_len as i64, DIM as i64] {
            return Err(IndexError::Model(format!(
                "{OUTPUT} has shape {:?}, want [{batch}, {seq_len}, {DIM}]",
                &**out_shape
            )));
        }
        Ok((0..batch)
            .map(|row| {
                mean_pool(
                    &data[row * seq_len * DIM..][..seq_len * DIM],
                    &mask[row * seq_len..][..seq_len],
                )
            })
            .collect())
    }
}

/// Mean of the token vectors where `mask` is 1, scaled to unit length.
fn mean_pool(hidden: &[f32], mask: &[i64]) -> Vec<f32> {
    let mut v = vec![0f32; DIM];
    for (tok, _) in hidden.chunks_exact(DIM).zip(mask).filter(|(_, m)| **m != 0) {
        v.iter_mut().zip(tok).for_each(|(a, b)| *a += b);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn existing(path: &Path) -> Result<PathBuf, IndexError> {
    path.canonicalize().map_err(|_| IndexError::Missing {
        path: path.to_path_buf(),
        hint: SETUP_HINT,
    })
}

/// Loads ONNX Runtime once per process and returns its environment.
fn runtime(library: &Path) -> Result<Environment, IndexError> {
    let path = existing(library)?;
    let mut slot = RUNTIME.lock();
    if let Some((loaded, env)) = slot.as_ref() {
        return match *loaded == path {
            true => Ok(env.clone()),
            false => Err(IndexError::OrtConflict {
                loaded: loaded.clone(),
                requested: path,
            }),
        };
    }
    let builder = ort::init_from(&path).map_err(|e| match e {
        ort::LoadDynamicError::BadVersion { version_str, path } => IndexError::OrtVersion {
            path,
            found: version_str,
        },
        // libloading puts dlerror()'s text in the error's source, not in its Display.
        ort::LoadDynamicError::Dlopen { error, path } => IndexError::OrtLoad {
            path,
            reason: chain(&error),
        },
        other => IndexError::OrtLoad {
            path: path.clone(),
            reason: other.to_string(),
        },
    })?;
    let env = builder
        .with_name("ucp-index")
        .with_telemetry(false)
        .build()?;
    *slot = Some((path, env.clone()));
    Ok(env)
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests;
