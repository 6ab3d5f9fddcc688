//! The run directory: written whole or not at all.
//!
//! Everything is written into a hidden temporary directory next to DIR
//! (`.DIR.tmp-<random>`), which is renamed to DIR only when every file is
//! written. If anything fails, the temporary directory is removed, so a
//! directory named DIR is always a complete run.
//!
//! A run is identified by the `model`, `dataset`, `seed` and `config` of
//! its `metrics.json`. A DIR holding the same run may be replaced; one
//! holding a different run (or something that is not an elbo run) is an
//! error naming it, unless `--force`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

/// The keys of `metrics.json` that say which run it is.
pub const IDENTITY_KEYS: [&str; 4] = ["model", "dataset", "seed", "config"];

/// What makes two runs the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunId {
    /// `model`, `dataset`, `seed` and `config`, as they appear in
    /// `metrics.json`.
    pub fields: serde_json::Map<String, Value>,
}

impl RunId {
    /// The identity of a run of `model` on `dataset` with `seed` and the
    /// resolved `config`.
    pub fn new(model: &str, dataset: &str, seed: u64, config: &Value) -> Self {
        let mut fields = serde_json::Map::new();
        fields.insert("model".into(), Value::from(model));
        fields.insert("dataset".into(), Value::from(dataset));
        fields.insert("seed".into(), Value::from(seed));
        fields.insert("config".into(), config.clone());
        Self { fields }
    }

    /// The identity recorded in a `metrics.json` value.
    fn from_metrics(m: &Value) -> Self {
        let fields = IDENTITY_KEYS
            .iter()
            .map(|&k| (k.to_string(), m.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        Self { fields }
    }

    /// "vblr on cubic, seed 0".
    fn describe(&self) -> String {
        let s = |k: &str| match self.fields.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "?".into(),
        };
        format!("{} on {}, seed {}", s("model"), s("dataset"), s("seed"))
    }

    /// What differs between `self` (on disk) and `other` (this run), in words.
    fn difference(&self, other: &RunId) -> String {
        let mut diffs = Vec::new();
        for k in ["model", "dataset", "seed"] {
            if self.fields.get(k) != other.fields.get(k) {
                diffs.push(k.to_string());
            }
        }
        match (self.fields.get("config"), other.fields.get("config")) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let (x, y) = (
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                    );
                    if x != y {
                        diffs.push(format!("config.{k} {x} vs {y}"));
                    }
                }
            }
            (a, b) if a != b => diffs.push("config".into()),
            _ => {}
        }
        diffs.join(", ")
    }
}

/// Refuse to overwrite `dir` unless it is absent, empty, holds the same run,
/// or `force` is set. Called before the work starts (fail fast) and again
/// just before the rename.
pub fn check_target(dir: &Path, id: &RunId, force: bool) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("output directory {}", dir.display())),
    };
    if !meta.is_dir() {
        bail!(
            "output path {} exists and is not a directory; choose another --out",
            dir.display()
        );
    }
    if force {
        return Ok(());
    }
    let is_empty = std::fs::read_dir(dir)
        .with_context(|| format!("reading output directory {}", dir.display()))?
        .next()
        .is_none();
    if is_empty {
        return Ok(());
    }
    let metrics = dir.join("metrics.json");
    let old: Option<Value> = std::fs::read_to_string(&metrics)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let Some(old) = old else {
        bail!(
            "output directory {} already exists and is not an elbo run (no readable metrics.json); \
             choose another --out or pass --force to replace it",
            dir.display()
        );
    };
    let old = RunId::from_metrics(&old);
    if old != *id {
        bail!(
            "output directory {} already holds a different run ({}; differs in {}); \
             choose another --out or pass --force to replace it",
            dir.display(),
            old.describe(),
            old.difference(id)
        );
    }
    Ok(())
}

/// A run directory being written: files go to a temporary sibling of the
/// final path until [`RunDir::commit`].
#[derive(Debug)]
pub struct RunDir {
    target: PathBuf,
    id: RunId,
    force: bool,
    tmp: tempfile::TempDir,
}

impl RunDir {
    /// Start writing the run `id` destined for `target` (checked with
    /// [`check_target`]). Parent directories are created as needed.
    pub fn create(target: &Path, id: RunId, force: bool) -> anyhow::Result<Self> {
        check_target(target, &id, force)?;
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.tmp-", file_name(target)))
            .tempdir_in(&parent)
            .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
        Ok(Self {
            target: target.to_path_buf(),
            id,
            force,
            tmp,
        })
    }

    /// Where the files are being written (the temporary directory, until
    /// [`commit`](Self::commit)); for a helper that reads them back.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Write `bytes` to `name` inside the run directory (creating
    /// sub-directories as needed).
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
        let p = self.tmp.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        std::fs::write(&p, bytes)
            .with_context(|| format!("writing {}", self.target.join(name).display()))
    }

    /// Write `value` as pretty JSON to `name`.
    pub fn write_json(&self, name: &str, value: &Value) -> anyhow::Result<()> {
        let mut s = serde_json::to_string_pretty(value).context("serialising JSON")?;
        s.push('\n');
        self.write(name, s)
    }

    /// Move the finished run into place, replacing a previous copy of the
    /// same run (or any directory, with `--force`). Returns the final path.
    pub fn commit(self) -> anyhow::Result<PathBuf> {
        check_target(&self.target, &self.id, self.force)?;
        let parent = parent_of(&self.target);
        let old = if self.target.exists() {
            // Move the old run aside first, so that at every instant DIR is
            // either the old complete run or the new one.
            let aside = tempfile::Builder::new()
                .prefix(&format!(".{}.old-", file_name(&self.target)))
                .tempdir_in(&parent)
                .with_context(|| {
                    format!("creating a temporary directory in {}", parent.display())
                })?;
            let aside_path = aside.path().join("run");
            std::fs::rename(&self.target, &aside_path)
                .with_context(|| format!("moving the previous {} aside", self.target.display()))?;
            Some((aside, aside_path))
        } else {
            None
        };
        if let Err(e) = std::fs::rename(self.tmp.path(), &self.target) {
            if let Some((_, aside_path)) = &old {
                // Put the previous run back; if even that fails, say where it is.
                if std::fs::rename(aside_path, &self.target).is_err() {
                    return Err(e).with_context(|| {
                        format!(
                            "moving the new run into {}; the previous run is in {}",
                            self.target.display(),
                            aside_path.display()
                        )
                    });
                }
            }
            return Err(e)
                .with_context(|| format!("moving the new run into {}", self.target.display()));
        }
        // The temporary directory is now the target: do not delete it.
        let _ = self.tmp.keep();
        // Dropping `aside` deletes the previous run.
        drop(old);
        Ok(self.target)
    }
}

/// The directory holding `p` (`.` for a bare name).
fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The last component of `p`, for naming its temporary siblings.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| "run".to_string(), |s| s.to_string_lossy().into_owned())
}

/// Turn a data-set name or path into something safe in a directory name.
pub fn slug(s: &str) -> String {
    let stem = Path::new(s)
        .file_stem()
        .map_or_else(|| s.to_string(), |f| f.to_string_lossy().into_owned());
    let stem = stem.strip_suffix(".csv").unwrap_or(&stem).to_string();
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(a0: f64) -> RunId {
        RunId::new("vblr", "cubic", 0, &json!({"a0": a0}))
    }

    fn metrics(id: &RunId) -> Value {
        Value::Object(id.fields.clone())
    }

    #[test]
    fn commit_moves_into_place_and_failure_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("sub/run");
        let run = RunDir::create(&target, id(1.0), false).unwrap();
        run.write("a/b.txt", "x").unwrap();
        run.write_json("metrics.json", &metrics(&id(1.0))).unwrap();
        assert!(!target.exists());
        run.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("a/b.txt")).unwrap(),
            "x"
        );

        // An abandoned run leaves no trace.
        let other = root.path().join("other");
        let run = RunDir::create(&other, id(1.0), false).unwrap();
        run.write("x", "y").unwrap();
        drop(run);
        assert!(!other.exists());
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn same_run_is_replaced_and_a_different_one_refused() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("run");
        let run = RunDir::create(&target, id(1.0), false).unwrap();
        run.write_json("metrics.json", &metrics(&id(1.0))).unwrap();
        run.write("old.txt", "old").unwrap();
        run.commit().unwrap();

        let run = RunDir::create(&target, id(1.0), false).unwrap();
        run.write_json("metrics.json", &metrics(&id(1.0))).unwrap();
        run.commit().unwrap();
        assert!(!target.join("old.txt").exists());

        let e = RunDir::create(&target, id(2.0), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already holds a different run (vblr on cubic, seed 0; differs in config.a0 1.0 vs 2.0)"), "{e}");
        let run = RunDir::create(&target, id(2.0), true).unwrap();
        run.write_json("metrics.json", &metrics(&id(2.0))).unwrap();
        run.commit().unwrap();
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run")]);
    }

    #[test]
    fn foreign_directories_and_files_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("f"), "").unwrap();
        assert!(
            check_target(&root.path().join("f"), &id(1.0), true)
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
        std::fs::create_dir(root.path().join("d")).unwrap();
        check_target(&root.path().join("d"), &id(1.0), false).unwrap();
        std::fs::write(root.path().join("d/notes"), "").unwrap();
        let e = check_target(&root.path().join("d"), &id(1.0), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not an elbo run"), "{e}");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("cubic"), "cubic");
        assert_eq!(slug("data/my file.csv"), "my-file");
        assert_eq!(slug("x.csv.gz"), "x");
        assert_eq!(slug("sparse:200,50,5"), "sparse-200-50-5");
    }
}
