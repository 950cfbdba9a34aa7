use std::path::{Path, PathBuf};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::{Checkpoint, Entry, StateError, StateStore, Write};

/// How a server's on-disk state database is set up.
#[derive(Debug, Clone)]
pub struct StateDbConfig {
    /// The directory (ksqlDB's `ksql.streams.state.dir`).
    pub path: PathBuf,
    /// Bytes of decompressed blocks kept in memory, over every store.
    pub cache_bytes: u64,
    /// Bytes a store's write buffer (memtable) holds before it is written
    /// out as a sorted table.
    pub write_buffer_bytes: u64,
}

impl StateDbConfig {
    /// A database under `path` whose caches and write buffers stay within
    /// about `memory_bytes`: a quarter for the block cache, a quarter for
    /// the write buffer of a store (at least 1 MiB each).
    pub fn within(path: impl Into<PathBuf>, memory_bytes: u64) -> Self {
        let quarter = (memory_bytes / 4).max(1 << 20);
        StateDbConfig {
            path: path.into(),
            cache_bytes: quarter,
            write_buffer_bytes: quarter,
        }
    }
}

/// One server's on-disk state: an LSM-tree database (fjall) whose
/// keyspaces are the stores of the server's tasks. Cheap to clone.
#[derive(Clone)]
pub struct StateDb {
    db: Database,
    config: StateDbConfig,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb")
            .field("path", &self.config.path)
            .finish()
    }
}

impl StateDb {
    /// Opens (or creates) the database; a database left by a killed process
    /// recovers from its journal.
    pub fn open(config: StateDbConfig) -> Result<Self, StateError> {
        std::fs::create_dir_all(&config.path).map_err(|source| StateError::Io {
            path: config.path.clone(),
            source,
        })?;
        let db = Database::builder(&config.path)
            .cache_size(config.cache_bytes)
            // the journal is rewritten into tables once it holds this much
            .max_journaling_size(64 << 20)
            .open()
            .map_err(|source| StateError::Lsm {
                store: config.path.display().to_string(),
                source,
            })?;
        Ok(StateDb { db, config })
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.config.path
    }

    /// The store `name` (created empty when new).
    pub fn store(&self, name: &str) -> Result<DiskStore, StateError> {
        check_name(name)?;
        let budget = self.config.write_buffer_bytes;
        let keyspace = self
            .db
            .keyspace(name, || {
                KeyspaceCreateOptions::default().max_memtable_size(budget)
            })
            .map_err(|source| StateError::Lsm {
                store: name.to_string(),
                source,
            })?;
        Ok(DiskStore {
            db: self.db.clone(),
            keyspace,
            name: name.to_string(),
        })
    }

    /// Where the checkpoint of store `name` is kept
    /// (`<database>/checkpoints/<name>.checkpoint`).
    pub fn checkpoint_path(&self, name: &str) -> PathBuf {
        self.path()
            .join("checkpoints")
            .join(format!("{name}.checkpoint"))
    }

    /// The checkpoint of store `name`: empty when there is no such store (a
    /// checkpoint left by a deletion cut short vouches for nothing).
    pub fn checkpoint(&self, name: &str) -> Result<Checkpoint, StateError> {
        let mut checkpoint = Checkpoint::load(self.checkpoint_path(name))?;
        if check_name(name).is_err() || !self.db.keyspace_exists(name) {
            checkpoint.clear();
        }
        Ok(checkpoint)
    }

    /// Deletes the store `name`, its files and its checkpoint (the
    /// checkpoint first: none may outlive its store). Whether the store
    /// existed.
    pub fn drop_store(&self, name: &str) -> Result<bool, StateError> {
        Checkpoint::load(self.checkpoint_path(name))?.delete()?;
        if check_name(name).is_err() || !self.db.keyspace_exists(name) {
            return Ok(false);
        }
        let store = self.store(name)?;
        self.db
            .delete_keyspace(store.keyspace)
            .map_err(|source| StateError::Lsm {
                store: name.to_string(),
                source,
            })?;
        Ok(true)
    }

    /// The names of the stores the database holds.
    pub fn store_names(&self) -> Vec<String> {
        self.db
            .list_keyspace_names()
            .into_iter()
            .map(|n| AsRef::<str>::as_ref(&n).to_string())
            .collect()
    }
}

fn check_name(name: &str) -> Result<(), StateError> {
    if name.is_empty() || name.len() > 255 {
        return Err(StateError::Name(name.to_string()));
    }
    Ok(())
}

/// A store on disk: one keyspace of the server's [`StateDb`]. Writes go to
/// the database's journal (flushed to the operating system with every
/// batch, so they survive the process being killed) and its write buffer;
/// reads go through the block cache.
pub struct DiskStore {
    db: Database,
    keyspace: Keyspace,
    name: String,
}

impl DiskStore {
    fn fail(&self, source: fjall::Error) -> StateError {
        StateError::Lsm {
            store: self.name.clone(),
            source,
        }
    }
}

impl StateStore for DiskStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.keyspace
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.fail(e))
    }

    fn write(&mut self, writes: Vec<Write>) -> Result<(), StateError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::Buffer));
        for w in writes {
            match w {
                Write::Put(k, v) => batch.insert(&self.keyspace, k, v),
                Write::Delete(k) => batch.remove(&self.keyspace, k),
            }
        }
        batch.commit().map_err(|e| self.fail(e))
    }

    fn range<'a>(
        &'a self,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> Box<dyn Iterator<Item = Result<Entry, StateError>> + 'a> {
        if to.is_some_and(|t| t <= from) {
            return Box::new(std::iter::empty());
        }
        let iter = match to {
            Some(t) => self.keyspace.range(from.to_vec()..t.to_vec()),
            None => self.keyspace.range(from.to_vec()..),
        };
        Box::new(iter.map(move |guard| {
            guard
                .into_inner()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(|e| self.fail(e))
        }))
    }

    fn clear(&mut self) -> Result<(), StateError> {
        self.keyspace.clear().map_err(|e| self.fail(e))
    }

    fn flush(&mut self) -> Result<(), StateError> {
        // the sealed write buffer is written by the database's workers
        self.keyspace
            .rotate_memtable()
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    fn size_bytes(&self) -> u64 {
        self.keyspace.disk_space()
    }
}
