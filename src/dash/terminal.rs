//! The terminal: a guard that puts it in raw mode on the alternate screen and restores it on
//! every exit path (drop, and a panic hook that restores before the message is printed), and
//! the thread that turns key presses and resizes into events. Knows nothing of the `App`.

use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{self as term_event, Event as TermEvent};
use crossterm::execute;
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::{mpsc, oneshot};

use super::app::Event;

/// Whether the terminal is currently in the dashboard's mode, so the panic hook knows to
/// restore it.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// How long the input thread blocks for a key before checking whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(200);

/// Owns the terminal in raw mode on the alternate screen; dropping it restores the screen.
pub struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Switches the terminal to raw mode and the alternate screen and hides the cursor. On
    /// error the terminal is left as it was.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut Terminal<CrosstermBackend<Stdout>> {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves the alternate screen, shows the cursor and ends raw mode; does nothing if the
/// dashboard's mode is not active, so it is safe to call twice.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        // Best effort: the terminal may already be gone (a closed tmux pane, a hang-up).
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
    }
}

/// Chains a hook before the current panic hook that restores the terminal, so the panic
/// message lands on the normal screen, readable.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The thread reading the keyboard; stops within [`INPUT_POLL`] once asked to or once the
/// event stream is closed.
pub struct Input {
    stop: Arc<AtomicBool>,
}

impl Input {
    /// Starts a thread that sends every key press as [`Event::Key`] and every resize as
    /// [`Event::Resize`] into `events`. A read error ends the thread and arrives on the
    /// returned receiver.
    pub fn spawn(events: mpsc::Sender<Event>) -> io::Result<(Input, oneshot::Receiver<io::Error>)> {
        let stop = Arc::new(AtomicBool::new(false));
        let (fail_tx, fail_rx) = oneshot::channel();
        let flag = stop.clone();
        std::thread::Builder::new().name("dash-input".into()).spawn(move || {
            if let Err(e) = read_loop(&events, &flag) {
                let _ = fail_tx.send(e);
            }
        })?;
        Ok((Input { stop }, fail_rx))
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn read_loop(events: &mpsc::Sender<Event>, stop: &AtomicBool) -> io::Result<()> {
    while !stop.load(Ordering::SeqCst) {
        if !term_event::poll(INPUT_POLL)? {
            continue;
        }
        let event = match term_event::read()? {
            TermEvent::Key(key) => Event::Key(key),
            TermEvent::Resize(..) => Event::Resize,
            _ => continue,
        };
        if events.blocking_send(event).is_err() {
            return Ok(());
        }
    }
    Ok(())
}
