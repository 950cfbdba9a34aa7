//! A real browser for the web console's tests: Debian's Chromium (installed
//! with apt when missing) driven by `playwright-core` from npm (installed once
//! under the cache, at the version pinned here; it never downloads a browser
//! of its own).

use std::path::PathBuf;
use std::process::Command;

use crate::cache_dir;
use crate::server::{ensure_packages, find_program};

/// The `playwright-core` the tests drive Chromium with.
pub const PLAYWRIGHT: &str = "playwright-core@1.64.1";

fn chromium() -> Option<PathBuf> {
    find_program(&["chromium", "chromium-browser"])
}

/// Installs Chromium unless it is there; its path.
pub fn install_chromium() -> PathBuf {
    ensure_packages("the web console's browser tests", &["chromium"], || {
        chromium().is_some()
    });
    chromium().expect("chromium after its install")
}

/// Installs `playwright-core` under the cache unless it is there; the
/// `node_modules` directory to put on `NODE_PATH`. Panics with npm's
/// messages when it cannot.
pub fn install_playwright() -> PathBuf {
    let prefix = cache_dir().join("npm-playwright");
    let modules = prefix.join("node_modules");
    let version = PLAYWRIGHT.rsplit('@').next().unwrap_or_default();
    let installed = || {
        std::fs::read_to_string(modules.join("playwright-core/package.json"))
            .is_ok_and(|p| p.contains(&format!("\"version\": \"{version}\"")))
    };
    if installed() {
        return modules;
    }
    let _lock = crate::install_lock(&prefix, "install.lock");
    if installed() {
        return modules;
    }
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(PLAYWRIGHT)
        .output()
        .unwrap_or_else(|e| panic!("npm is needed to install {PLAYWRIGHT}: {e}"));
    assert!(
        out.status.success() && installed(),
        "npm install {PLAYWRIGHT} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    modules
}
