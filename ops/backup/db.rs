//! Reading and copying a gateway's RocksDB databases (the tool store, the session store) whether
//! or not a gateway has them open: a reader opens as a RocksDB *secondary* instance, the supported
//! way to read beside the one writer, caught up with it at open; every block read is
//! checksum-verified.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rocksdb::{DB, IteratorMode, Options, ReadOptions, WriteBatch};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What one column family holds: its entries and a SHA-256 over them in key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyDigest {
    pub entries: u64,
    pub sha256: String,
}

/// Every column family of a database, by name.
pub type DbDigest = BTreeMap<String, FamilyDigest>;

/// A database opened to read, beside a running gateway or not; its scratch dir (the secondary's
/// own files) goes with it.
pub struct Reader {
    pub db: DB,
    pub families: Vec<String>,
    scratch: PathBuf,
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Opens the database in `path` to read. `Ok(None)`: there is no database there.
pub fn open_reader(path: &Path) -> Result<Option<Reader>, String> {
    if !path.join("CURRENT").exists() {
        return Ok(None);
    }
    let families =
        DB::list_cf(&Options::default(), path).map_err(|e| format!("{}: {e}", path.display()))?;
    let scratch = std::env::temp_dir().join(format!(
        "ucp-secondary-{}-{}",
        std::process::id(),
        ucp_proxy::session::now_ms()
    ));
    let mut options = Options::default();
    // A secondary instance keeps every file open (RocksDB requires it).
    options.set_max_open_files(-1);
    let db = DB::open_cf_as_secondary(&options, path, &scratch, &families)
        .map_err(|e| format!("{}: cannot open to read: {e}", path.display()))?;
    db.try_catch_up_with_primary()
        .map_err(|e| format!("{}: cannot catch up with the writer: {e}", path.display()))?;
    Ok(Some(Reader {
        db,
        families,
        scratch,
    }))
}

/// Visits every entry of every column family in key order, checksums verified.
pub fn for_each_entry(
    reader: &Reader,
    mut visit: impl FnMut(&str, &[u8], &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    for family in &reader.families {
        let cf = reader
            .db
            .cf_handle(family)
            .ok_or_else(|| format!("column family {family} vanished"))?;
        let mut read = ReadOptions::default();
        read.set_verify_checksums(true);
        for item in reader.db.iterator_cf_opt(&cf, read, IteratorMode::Start) {
            let (key, value) = item.map_err(|e| format!("{family}: {e}"))?;
            visit(family, &key, &value)?;
        }
    }
    Ok(())
}

/// The digest of every column family (empty ones included).
pub fn digest(reader: &Reader) -> Result<DbDigest, String> {
    let mut hashers: BTreeMap<String, (u64, Sha256)> = reader
        .families
        .iter()
        .map(|f| (f.clone(), (0, Sha256::new())))
        .collect();
    for_each_entry(reader, |family, key, value| {
        let (entries, hasher) = hashers.get_mut(family).expect("listed family");
        *entries += 1;
        hasher.update((key.len() as u64).to_le_bytes());
        hasher.update(key);
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
        Ok(())
    })?;
    Ok(hashers
        .into_iter()
        .map(|(family, (entries, hasher))| {
            let sha256 = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (family, FamilyDigest { entries, sha256 })
        })
        .collect())
}

/// Copies the database in `from` into a new one at `to` (which must not exist); returns the
/// digest of what was copied.
pub fn copy(from: &Path, to: &Path) -> Result<Option<DbDigest>, String> {
    let Some(reader) = open_reader(from)? else {
        return Ok(None);
    };
    if to.exists() {
        return Err(format!("{}: exists", to.display()));
    }
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    let target = DB::open_cf(&options, to, &reader.families)
        .map_err(|e| format!("{}: {e}", to.display()))?;
    let mut batch = WriteBatch::default();
    let write = |batch: WriteBatch| {
        target
            .write(batch)
            .map_err(|e| format!("{}: {e}", to.display()))
    };
    for_each_entry(&reader, |family, key, value| {
        let cf = target.cf_handle(family).expect("created at open");
        batch.put_cf(&cf, key, value);
        if batch.len() >= 1024 {
            write(std::mem::take(&mut batch))?;
        }
        Ok(())
    })?;
    write(batch)?;
    target
        .flush()
        .map_err(|e| format!("{}: flush: {e}", to.display()))?;
    for family in &reader.families {
        let cf = target.cf_handle(family).expect("created at open");
        target
            .flush_cf(&cf)
            .map_err(|e| format!("{}: flush {family}: {e}", to.display()))?;
    }
    drop(target);
    // The copy is read back and must hold exactly what was read.
    let read = digest(&reader)?;
    let copied = match open_reader(to)? {
        Some(copy) => digest(&copy)?,
        None => return Err(format!("{}: the copy did not open", to.display())),
    };
    if read != copied {
        return Err(format!(
            "{}: the copy differs from {} (read {read:?}, copied {copied:?})",
            to.display(),
            from.display()
        ));
    }
    Ok(Some(copied))
}

/// Whether a process holds the database in `path` open for writing (its RocksDB lock).
pub fn in_use(path: &Path) -> Result<bool, String> {
    if !path.join("CURRENT").exists() {
        return Ok(false);
    }
    let families =
        DB::list_cf(&Options::default(), path).map_err(|e| format!("{}: {e}", path.display()))?;
    match DB::open_cf(&Options::default(), path, &families) {
        Ok(db) => {
            drop(db);
            Ok(false)
        }
        Err(e) if e.to_string().to_ascii_lowercase().contains("lock") => Ok(true),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
