//! Migration files: `V<six digits>__<name>.sql` in the migrations directory,
//! their versions, names and MD5 checksums, as ksql-migrations reads them.

use std::path::{Path, PathBuf};

use super::Failure;

/// One migration file.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationFile {
    pub version: u32,
    /// The description: the file name's part after `__`, `_` as spaces.
    pub name: String,
    pub path: PathBuf,
}

impl MigrationFile {
    /// Lowercase hex MD5 of the file's bytes.
    pub fn checksum(&self) -> Result<String, Failure> {
        let bytes = std::fs::read(&self.path)
            .map_err(|e| Failure(format!("Failed to read {}: {e}", self.path.display())))?;
        Ok(format!("{:x}", md5::compute(bytes)))
    }

    pub fn contents(&self) -> Result<String, Failure> {
        std::fs::read_to_string(&self.path)
            .map_err(|e| Failure(format!("Failed to read {}: {e}", self.path.display())))
    }
}

/// The version and name of a file named `V000002__Add_users.sql` (`(2, "Add users")`).
fn parse_name(file: &str) -> Option<(u32, String)> {
    let at = file.find('V')?;
    let rest = &file[at..];
    // unanchored, as Java's `find`: the first `V<6 digits>__...sql` in the name
    for (i, _) in rest.match_indices('V') {
        let cand = &rest[i + 1..];
        let Some(digits) = cand.get(..6) else {
            continue;
        };
        if digits.len() == 6
            && digits.chars().all(|c| c.is_ascii_digit())
            && cand[6..].starts_with("__")
            && cand.ends_with(".sql")
            && cand.len() > 6 + 2 + 4
        {
            let name = &cand[8..cand.len() - 4];
            return Some((digits.parse().ok()?, name.replace('_', " ")));
        }
    }
    None
}

/// The migration files of `dir`, by version, skipping (with a warning)
/// the files not named as migrations.
pub fn list(dir: &Path, out: &mut dyn FnMut(&str)) -> Result<Vec<MigrationFile>, Failure> {
    if !dir.is_dir() {
        return Err(Failure(format!("{} is not a directory.", dir.display())));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Failure(format!("Failed to list {}: {e}", dir.display())))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut files: Vec<MigrationFile> = Vec::new();
    for file in names {
        let Some((version, name)) = parse_name(&file) else {
            out(&format!(
                "Skipping file does not match expected migration file pattern 'V<six digit number>__<name>.sql': {file}"
            ));
            continue;
        };
        let path = dir.join(&file);
        if version == 0 {
            return Err(Failure(format!(
                "MigrationFile file versions must be positive. Found: {file}"
            )));
        }
        if let Some(prev) = files.iter().find(|f| f.version == version) {
            return Err(Failure(format!(
                "Found multiple migration files with the same version. Version: {version}. Files: '{}', '{}'",
                path.display(),
                prev.path.display()
            )));
        }
        files.push(MigrationFile {
            version,
            name,
            path,
        });
    }
    files.sort_by_key(|f| f.version);
    Ok(files)
}

/// The file name `create` gives a new migration: the description with
/// whitespace and characters file systems refuse as `_`.
pub fn file_name(version: u32, description: &str) -> String {
    let safe: String = description
        .chars()
        .map(|c| {
            if c.is_whitespace() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("V{version:06}__{safe}.sql")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_ksql_migrations_reads_them() {
        assert_eq!(
            parse_name("V000002__Add_users.sql"),
            Some((2, "Add users".into()))
        );
        assert_eq!(parse_name("V12__x.sql"), None);
        assert_eq!(parse_name("V000001__.sql"), None);
        assert_eq!(parse_name("notes.txt"), None);
        assert_eq!(file_name(7, "add a: table"), "V000007__add_a__table.sql");
    }
}
