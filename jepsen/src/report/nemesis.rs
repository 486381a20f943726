//! Fault windows from nemesis operations, for shading plots.
//!
//! Jepsen's nemesis logs each action as a pair of ops (an invocation, or an `info`, then an
//! `info` completion) with the same `f`. Actions open and close windows by name:
//! `start-X` opens window `X` and `stop-X` closes it; `kill` is closed by `start`, `pause` by
//! `resume`; otherwise `start`/`stop` (Jepsen's classic nemesis) open and close a window
//! called `nemesis`. Any other action
//! (a clock bump, a one-shot fault) is a window of its own, from its invocation to its
//! completion. A window still open at the end of the history lasts until its last op.

use crate::history::{History, Pairing};

/// One fault window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisWindow {
    /// What was faulty, e.g. `partition`, `kill`, `bump-clock`.
    pub name: String,
    /// Time (ns) of the first op of the opening action.
    pub start: i64,
    /// Time (ns) of the last op of the closing action, or of the history's last op.
    pub end: i64,
    /// Did a closing action end it (false: still open at the end of the history)?
    pub closed: bool,
}

enum Action<'f> {
    Open(&'f str),
    Close(&'f str),
    Instant,
}

fn classify(f: &str) -> Action<'_> {
    match f {
        "kill" => Action::Open("kill"),
        "pause" => Action::Open("pause"),
        "resume" => Action::Close("pause"),
        "start" => Action::Close("kill"),
        "stop" => Action::Close("nemesis"),
        _ => {
            if let Some(name) = f.strip_prefix("start-") {
                Action::Open(name)
            } else if let Some(name) = f.strip_prefix("stop-") {
                Action::Close(name)
            } else {
                Action::Instant
            }
        }
    }
}

/// The fault windows of a history, in order of their start.
pub fn nemesis_windows(history: &History, pairing: &Pairing) -> Vec<NemesisWindow> {
    let history_end = history.ops.iter().map(|op| op.time).max().unwrap_or(0);
    let mut open: Vec<(String, i64)> = Vec::new();
    let mut windows = Vec::new();
    for &i in &pairing.nemesis_ops {
        let partner = pairing.partner.get(i).copied().flatten();
        if partner.is_some_and(|p| p < i) {
            continue; // the completion of an action already handled
        }
        let Some(op) = history.ops.get(i) else {
            continue;
        };
        let action_end = partner
            .and_then(|p| history.ops.get(p))
            .map_or(op.time, |completion| completion.time);
        match classify(&op.f) {
            Action::Open(name) => {
                if !open.iter().any(|(open_name, _)| open_name == name) {
                    open.push((name.to_string(), op.time));
                }
            }
            Action::Close(name) => {
                // A bare `start` with no kill window open is the classic nemesis's
                // `:start` (ended by `:stop`): it opens the generic `nemesis` window.
                if let Some(slot) = open.iter().position(|(open_name, _)| open_name == name) {
                    let (name, start) = open.remove(slot);
                    windows.push(NemesisWindow {
                        name,
                        start,
                        end: action_end,
                        closed: true,
                    });
                } else if op.f == "start" {
                    open.push(("nemesis".to_string(), op.time));
                }
            }
            Action::Instant => windows.push(NemesisWindow {
                name: op.f.clone(),
                start: op.time,
                end: action_end,
                closed: true,
            }),
        }
    }
    windows.extend(open.into_iter().map(|(name, start)| NemesisWindow {
        name,
        start,
        end: history_end,
        closed: false,
    }));
    windows.sort_by_key(|window| (window.start, window.end));
    windows
}
