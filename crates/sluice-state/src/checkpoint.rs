use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::StateError;

/// Per changelog partition, the offset up to which a store holds its
/// changelog: a restore reads the changelog from there. Kept in a text
/// file, one `<partition> <offset>` per line, replaced atomically (written
/// aside, then renamed), as Kafka Streams keeps its `.checkpoint` file.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    offsets: BTreeMap<i32, i64>,
}

impl Checkpoint {
    /// The checkpoint at `path`: empty when there is no file.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, StateError> {
        let path = path.into();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(StateError::Io { path, source }),
        };
        let mut offsets = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed = line
                .split_once(' ')
                .and_then(|(p, o)| Some((p.parse().ok()?, o.trim().parse().ok()?)));
            let Some((p, o)) = parsed else {
                return Err(StateError::Checkpoint {
                    path,
                    line: i + 1,
                    text: line.to_string(),
                });
            };
            offsets.insert(p, o);
        }
        Ok(Checkpoint { path, offsets })
    }

    /// The offset the store holds partition `p` up to (exclusive).
    pub fn offset(&self, p: i32) -> Option<i64> {
        self.offsets.get(&p).copied()
    }

    pub fn set(&mut self, p: i32, offset: i64) {
        self.offsets.insert(p, offset);
    }

    /// Forgets every partition.
    pub fn clear(&mut self) {
        self.offsets.clear();
    }

    /// Forgets partition `p`: its store must be restored from the start.
    pub fn remove(&mut self, p: i32) {
        self.offsets.remove(&p);
    }

    /// Writes the file (a crash leaves the old one or the new one whole).
    pub fn save(&self) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text: String = self
            .offsets
            .iter()
            .map(|(p, o)| format!("{p} {o}\n"))
            .collect();
        let aside = self.path.with_extension("checkpoint.tmp");
        std::fs::write(&aside, text).map_err(io)?;
        std::fs::rename(&aside, &self.path).map_err(io)
    }

    /// Deletes the file.
    pub fn delete(&self) -> Result<(), StateError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }
}
