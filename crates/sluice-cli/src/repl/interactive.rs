//! The REPL on a terminal: rustyline with history in `~/.sluice_history`, tab
//! completion, and Ctrl-C that cancels a running query (or the line being typed)
//! rather than leaving.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use super::backend::Backend;
use super::complete::SluiceHelper;
use super::{Control, Repl};

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".sluice_history"))
}

/// While a query runs the terminal is not in raw mode, so Ctrl-C is a signal: catch
/// it and set the cancel flag instead of dying.
fn watch_ctrl_c(cancel: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::SeqCst);
            }
        });
    });
}

/// Run the REPL on the terminal until `exit` or Ctrl-D.
pub fn run<B: Backend>(mut repl: Repl<B>, banner: &str) -> Result<(), String> {
    let config = Config::builder().auto_add_history(false).build();
    let mut editor: Editor<SluiceHelper, FileHistory> =
        Editor::with_config(config).map_err(|e| e.to_string())?;
    editor.set_helper(Some(SluiceHelper {
        names: repl.names(),
    }));
    let history = history_path();
    if let Some(p) = &history {
        let _ = editor.load_history(p);
    }
    watch_ctrl_c(repl.cancel_flag());
    println!("{banner}\nType 'help' for help, 'exit' to leave.\n");
    let mut stdout = std::io::stdout();
    loop {
        match editor.readline(repl.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match repl.handle_line(&line, &mut stdout) {
                    Ok(Control::Exit) => break,
                    Ok(Control::Continue) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Err(ReadlineError::Interrupted) => repl.clear_buffer(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    if let Some(p) = &history {
        let _ = editor.save_history(p);
    }
    Ok(())
}
