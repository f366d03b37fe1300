//! The kernel's state in a JSON file, shared by every process that opens it: each request
//! takes an exclusive lock on `<file>.lock`, reads the state, runs the timers, does its work
//! and writes the state back atomically (temp file + rename) when it changed.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::kernel::Kernel;

#[derive(Clone, Debug)]
pub struct Store {
    path: PathBuf,
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl Store {
    /// Write a new kernel to `path` (replacing what was there).
    pub fn create(path: &Path, kernel: &Kernel) -> Result<Store, StoreError> {
        let store = Store {
            path: path.to_path_buf(),
        };
        let _lock = store.lock()?;
        store.save(kernel)?;
        Ok(store)
    }

    /// An existing kernel file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError(format!(
                "no kernel model at {} (create one with Store::create)",
                path.display()
            )));
        }
        Ok(Store {
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<File, StoreError> {
        let lock_path = self.path.with_extension("lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| StoreError(format!("{}: {e}", lock_path.display())))?;
        f.lock()
            .map_err(|e| StoreError(format!("locking {}: {e}", lock_path.display())))?;
        Ok(f)
    }

    fn load(&self) -> Result<(Kernel, Vec<u8>), StoreError> {
        let bytes = std::fs::read(&self.path)
            .map_err(|e| StoreError(format!("{}: {e}", self.path.display())))?;
        let k = serde_json::from_slice(&bytes)
            .map_err(|e| StoreError(format!("{}: {e}", self.path.display())))?;
        Ok((k, bytes))
    }

    fn save(&self, k: &Kernel) -> Result<(), StoreError> {
        self.write(&serde_json::to_vec(k).map_err(|e| StoreError(e.to_string()))?)
    }

    fn write(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| StoreError(format!("{}: {e}", self.path.display())))
    }

    /// Run `f` on the kernel under the lock, after the timers caught up; the state is saved
    /// when it changed.
    pub fn with<R>(&self, f: impl FnOnce(&mut Kernel) -> R) -> Result<R, StoreError> {
        let _lock = self.lock()?;
        let (mut k, before) = self.load()?;
        k.tick();
        let r = f(&mut k);
        let after = serde_json::to_vec(&k).map_err(|e| StoreError(e.to_string()))?;
        if after != before {
            self.write(&after)?;
        }
        Ok(r)
    }

    /// A copy of the kernel as it is now.
    pub fn read(&self) -> Result<Kernel, StoreError> {
        self.with(|k| k.clone())
    }
}
