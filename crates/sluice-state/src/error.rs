use std::path::PathBuf;

/// A state store that could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store {store}: {source}")]
    Lsm {
        store: String,
        #[source]
        source: fjall::Error,
    },
    #[error("state directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("checkpoint file {path}: line {line} is not `<partition> <offset>`: {text:?}")]
    Checkpoint {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("state store name {0:?} is not usable (1 to 255 characters)")]
    Name(String),
}
