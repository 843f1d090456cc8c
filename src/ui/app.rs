//! The application state and its event handling. Rendering reads this state; it does no I/O.

use super::action::{Action, Outcome, PaneAction};
use super::keymap::{self, Keymap};
use super::pane::{Pane, PaneContext};
use super::pane_id::PaneId;
use super::panes;
use super::theme::Theme;
use super::widgets::command::{Command, CommandEvent, CommandLine};
use super::widgets::popup::PopupScroll;
use super::widgets::{self, fit};
use crate::analysis::CaseAnalysis;
use crate::case::{Case, LoadProgress};
use crate::driver::DriverKey;
use crossbeam_channel::{Receiver, TryRecvError};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};
use std::path::PathBuf;
use std::sync::Arc;

/// Messages from the loading worker.
pub enum LoadMsg {
    Progress(LoadProgress),
    /// The case and what the analysis joined from it (built on the loader thread too).
    Done(Box<Result<(Case, CaseAnalysis), String>>),
}

/// Write an export to `path`, never inside the case folder (only the notes and the report are
/// written there) and never over something that is not a regular file.
fn write_export(
    path: &std::path::Path,
    bytes: &[u8],
    case: Option<&std::path::Path>,
) -> Result<(), String> {
    let shown = crate::escape::escape_field(&path.display().to_string()).into_owned();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = parent
        .canonicalize()
        .map_err(|e| format!("cannot export to {shown}: {e}"))?;
    if let Some(root) = case.and_then(|r| r.canonicalize().ok())
        && dir.starts_with(&root)
    {
        return Err(format!(
            "not exporting into the case folder ({shown}): bsodwb writes only its notes there"
        ));
    }
    if let Ok(m) = std::fs::symlink_metadata(path)
        && !m.file_type().is_file()
    {
        return Err(format!("cannot export to {shown}: not a regular file"));
    }
    std::fs::write(path, bytes).map_err(|e| format!("cannot export to {shown}: {e}"))
}

/// How many places Back remembers.
const NAV_DEPTH: usize = 100;

/// A place in the workbench: a pane and the driver focus.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Place {
    pane: usize,
    focus: Option<DriverKey>,
}

/// What panes read (`PaneContext`), borrowed field by field from the app so that its panes can
/// be borrowed mutably beside it.
macro_rules! pane_context {
    ($app:expr) => {
        PaneContext {
            case: &$app.case,
            analysis: &$app.analysis,
            focus: $app.focus.as_ref(),
            theme: &$app.theme,
        }
    };
}

/// A case tab parked while another is shown: everything that belongs to one case.
struct CaseTab {
    name: String,
    case: Arc<Case>,
    analysis: Arc<CaseAnalysis>,
    panes: Vec<Box<dyn Pane>>,
    active: usize,
    focus: Option<DriverKey>,
    loading: Option<(Receiver<LoadMsg>, LoadProgress)>,
    nav_back: Vec<Place>,
    nav_forward: Vec<Place>,
}

/// The name a case tab shows: the folder's (or file's) last component.
fn case_name(root: &std::path::Path) -> String {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    crate::escape::escape_field(&name).into_owned()
}

pub struct App {
    pub case: Arc<Case>,
    pub analysis: Arc<CaseAnalysis>,
    panes: Vec<Box<dyn Pane>>,
    pub active: usize,
    pub focus: Option<DriverKey>,
    pub help: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    pub message: Option<String>,
    loading: Option<(Receiver<LoadMsg>, LoadProgress)>,
    pub quit: bool,
    /// `q` was pressed with unsaved work: the next key answers (y quits).
    pub confirm_quit: bool,
    /// Text copied with `y`/`Y`, waiting to be sent to the terminal (OSC 52).
    clipboard: Option<String>,
    /// The `:` command line.
    command: CommandLine,
    /// A command's answer shown over the pane (`:bugcheck`): title, lines, scroll.
    answer: Option<(String, Vec<String>, PopupScroll)>,
    /// Where jumps came from (Back) and where Back came from (Forward), newest last.
    nav_back: Vec<Place>,
    nav_forward: Vec<Place>,
    /// The last pane action a key reached, with the pane that did it (the keymap tests' trace).
    pub last_action: Option<(PaneId, PaneAction)>,
    /// Every case tab in order; the shown one's slot is `None` (its state is in the fields
    /// above).
    tabs: Vec<Option<CaseTab>>,
    /// The shown tab's index in `tabs` and its name.
    tab: usize,
    tab_name: String,
    /// The first key of a two-key sequence (`g` of `gt`), waiting for the second.
    pending: Option<KeyEvent>,
}

impl App {
    /// An app over an already loaded case (analysed here; [`App::with_analysis`] takes one
    /// already built).
    pub fn new(case: Case, theme: Theme) -> App {
        let analysis = CaseAnalysis::build(&case);
        App::with_analysis(case, analysis, theme)
    }

    /// An app over a loaded case and its analysis.
    pub fn with_analysis(case: Case, analysis: CaseAnalysis, theme: Theme) -> App {
        let mut app = App {
            case: Arc::new(Case::empty()),
            analysis: Arc::new(CaseAnalysis::default()),
            panes: Vec::new(),
            active: 0,
            focus: None,
            help: false,
            keymap: Keymap::builtin(),
            theme,
            message: None,
            loading: None,
            quit: false,
            confirm_quit: false,
            clipboard: None,
            command: CommandLine::default(),
            answer: None,
            nav_back: Vec::new(),
            nav_forward: Vec::new(),
            last_action: None,
            tabs: vec![None],
            tab: 0,
            tab_name: String::new(),
            pending: None,
        };
        app.tab_name = case.root.as_deref().map(case_name).unwrap_or_default();
        app.install(case, analysis);
        app
    }

    /// An app that loads `root` on a worker thread; the UI draws progress meanwhile.
    pub fn loading(root: PathBuf, theme: Theme) -> App {
        let mut app = App::with_analysis(Case::empty(), CaseAnalysis::default(), theme);
        app.tab_name = case_name(&root);
        app.loading = Some(App::spawn_loader(root));
        app
    }

    /// Load `root` on a worker thread; the receiver gets its progress and the result.
    fn spawn_loader(root: PathBuf) -> (Receiver<LoadMsg>, LoadProgress) {
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("case-loader".into())
            .spawn(move || {
                let progress_tx = tx.clone();
                let mut last = std::time::Instant::now();
                let mut latest = LoadProgress::default();
                let result = Case::load(&root, &mut |p| {
                    // A few updates a second is plenty; the UI coalesces anyway.
                    if last.elapsed() > std::time::Duration::from_millis(50)
                        || p.total > 0 && p.done == p.total
                    {
                        last = std::time::Instant::now();
                        latest = p.clone();
                        let _ = progress_tx.send(LoadMsg::Progress(p));
                    }
                });
                let result = result.map(|case| {
                    // The counts stay where loading left them; only the stage moves on.
                    latest.stage = "joining the artefacts and running the rules".into();
                    let _ = progress_tx.send(LoadMsg::Progress(latest));
                    let analysis = CaseAnalysis::build(&case);
                    (case, analysis)
                });
                let _ = tx.send(LoadMsg::Done(Box::new(result.map_err(|e| e.to_string()))));
            })
            .map_err(|e| tracing::error!("cannot start the loader thread: {e}"))
            .ok();
        (
            rx,
            LoadProgress {
                stage: "starting".into(),
                ..LoadProgress::default()
            },
        )
    }

    /// How many case tabs are open, and which one shows.
    pub fn tab_count(&self) -> (usize, usize) {
        (self.tabs.len(), self.tab)
    }

    /// The case tabs' names, in order.
    pub fn tab_names(&self) -> Vec<String> {
        self.tabs
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                Some(t) => t.name.clone(),
                None if i == self.tab => self.tab_name.clone(),
                None => String::new(),
            })
            .collect()
    }

    /// Park the shown case in its slot and show tab `to` instead.
    fn switch_tab(&mut self, to: usize) {
        if to == self.tab || to >= self.tabs.len() {
            return;
        }
        let Some(next) = self.tabs[to].take() else {
            return;
        };
        let parked = CaseTab {
            name: std::mem::replace(&mut self.tab_name, next.name),
            case: std::mem::replace(&mut self.case, next.case),
            analysis: std::mem::replace(&mut self.analysis, next.analysis),
            panes: std::mem::replace(&mut self.panes, next.panes),
            active: std::mem::replace(&mut self.active, next.active),
            focus: std::mem::replace(&mut self.focus, next.focus),
            loading: std::mem::replace(&mut self.loading, next.loading),
            nav_back: std::mem::replace(&mut self.nav_back, next.nav_back),
            nav_forward: std::mem::replace(&mut self.nav_forward, next.nav_forward),
        };
        self.tabs[self.tab] = Some(parked);
        self.tab = to;
        self.answer = None;
    }

    /// `gt` / `gT`: the next or previous case tab, wrapping.
    fn step_tab(&mut self, forward: bool) {
        let n = self.tabs.len();
        if n < 2 {
            self.message = Some("one case open: :open CASE opens another in a new tab".into());
            return;
        }
        let to = if forward {
            (self.tab + 1) % n
        } else {
            (self.tab + n - 1) % n
        };
        self.switch_tab(to);
        self.message = Some(format!("case {} of {n}: {}", to + 1, self.tab_name));
    }

    /// `:open CASE`: load another case in a new tab (on a worker, as the first) and show it.
    /// A path that does not exist or cannot be read is refused here, before a tab is made,
    /// and a case that fails to load closes its tab again: the user stays where they were.
    pub fn open_case(&mut self, path: &std::path::Path) {
        let shown = crate::escape::escape_field(&path.display().to_string()).into_owned();
        let root = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() || m.is_file() => path.to_path_buf(),
            Ok(_) => {
                self.message = Some(format!("cannot open {shown}: neither a folder nor a file"));
                return;
            }
            Err(e) => {
                self.message = Some(format!("cannot open {shown}: {e}"));
                return;
            }
        };
        let root = root.canonicalize().unwrap_or(root);
        if self.case.root.as_deref() == Some(root.as_path()) {
            self.message = Some(format!("{shown} is the case shown"));
            return;
        }
        let empty = CaseTab {
            name: case_name(&root),
            case: Arc::new(Case::empty()),
            analysis: Arc::new(CaseAnalysis::default()),
            panes: panes::build(&Case::empty(), &CaseAnalysis::default()),
            active: 0,
            focus: None,
            loading: Some(App::spawn_loader(root)),
            nav_back: Vec::new(),
            nav_forward: Vec::new(),
        };
        self.tabs.push(Some(empty));
        let n = self.tabs.len();
        self.switch_tab(n - 1);
        self.message = Some(format!("opening {shown} in tab {n} (gt/gT switch)"));
    }

    /// The shown tab's case failed to load: close the tab and go back to the one before,
    /// saying why; the only tab stays (empty) with the message.
    fn close_failed_tab(&mut self, why: String) {
        if self.tabs.len() < 2 {
            self.message = Some(why);
            return;
        }
        let failed = self.tab;
        let back = if failed == 0 { 1 } else { failed - 1 };
        self.switch_tab(back);
        self.tabs.remove(failed);
        if self.tab > failed {
            self.tab -= 1;
        }
        self.message = Some(why);
    }

    fn install(&mut self, case: Case, analysis: CaseAnalysis) {
        self.case = Arc::new(case);
        self.analysis = Arc::new(analysis);
        self.panes = panes::build(&self.case, &self.analysis);
        if let Some(focus) = self.focus.clone() {
            self.set_focus(Some(focus));
        }
    }

    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Drain worker messages; true when something changed and a redraw is due.
    pub fn tick(&mut self) -> bool {
        let mut changed = false;
        // A mapped case file that shrank reads as zeros past its new end: say so.
        for mut c in crate::mapped::take_changed() {
            if let Some(rel) = self
                .case
                .root
                .as_ref()
                .and_then(|r| c.path.strip_prefix(r).ok())
            {
                c.path = rel.to_path_buf();
            }
            self.message = Some(c.to_string());
            changed = true;
        }
        let mut finished = None;
        if let Some((rx, progress)) = self.loading.as_mut() {
            loop {
                match rx.try_recv() {
                    Ok(LoadMsg::Progress(p)) => {
                        *progress = p;
                        changed = true;
                    }
                    Ok(LoadMsg::Done(result)) => {
                        finished = Some(*result);
                        break;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        finished = Some(Err("the loader stopped unexpectedly".into()));
                        break;
                    }
                }
            }
        }
        if let Some(result) = finished {
            self.loading = None;
            changed = true;
            match result {
                Ok((case, analysis)) => self.install(case, analysis),
                Err(e) => {
                    let why = format!("cannot open {}: {e}", self.tab_name);
                    self.close_failed_tab(why);
                }
            }
        }
        for pane in &mut self.panes {
            changed |= pane.tick();
        }
        changed
    }

    pub fn set_focus(&mut self, focus: Option<DriverKey>) {
        self.focus = focus;
        let ctx = pane_context!(self);
        for pane in &mut self.panes {
            pane.on_focus(&ctx);
        }
        self.message = Some(match &self.focus {
            Some(k) => format!("focused on {k}: every pane follows"),
            None => "focus cleared".into(),
        });
    }

    fn apply(&mut self, action: Action) {
        let n = self.panes.len().max(1);
        match action {
            Action::NextPane => self.active = (self.active + 1) % n,
            Action::PrevPane => self.active = (self.active + n - 1) % n,
            Action::ShowPane(p) => self.active = p.index().min(n - 1),
            Action::ClearFocus => self.set_focus(None),
            Action::Yank => self.yank(false),
            Action::YankView => self.yank(true),
            Action::Back => self.go(true),
            Action::Forward => self.go(false),
            Action::NextTab => self.step_tab(true),
            Action::PrevTab => self.step_tab(false),
            Action::Mark | Action::JumpMark => self.mark(action == Action::Mark),
            Action::Note => self.note(),
            Action::Command => {
                self.message = None;
                self.command.open();
            }
            Action::Help => self.help = true,
            Action::Quit => match self.panes.iter().find_map(|p| p.unsaved()) {
                Some(why) => {
                    self.confirm_quit = true;
                    // The question first: a long path is cut at the right edge.
                    self.message = Some(format!("Quit anyway? (y/n) {why}"));
                }
                None => self.quit = true,
            },
        }
    }

    /// `m` (`set`) marks the row under the cursor of the active list; `'` jumps back to it.
    fn mark(&mut self, set: bool) {
        let Some(c) = self.panes.get_mut(self.active).and_then(|p| p.cursor_mut()) else {
            self.message = Some("no list here to mark".into());
            return;
        };
        self.message = Some(match (set, c.mark) {
            (true, _) => {
                c.mark = Some(c.selected);
                format!(
                    "marked row {}; {} jumps back to it",
                    c.selected + 1,
                    self.keymap.label_for(Action::JumpMark)
                )
            }
            (false, Some(m)) => {
                c.center(m);
                format!("at the mark, row {}", m + 1)
            }
            (false, None) => format!(
                "no mark in this list: {} sets one",
                self.keymap.label_for(Action::Mark)
            ),
        });
    }

    /// `A`: append what is selected in the active pane to the notes, with its source, and save.
    fn note(&mut self) {
        let ctx = pane_context!(self);
        let Some(entry) = self.panes.get(self.active).and_then(|p| p.note(&ctx)) else {
            self.message = Some("nothing selected here to add to the notes".into());
            return;
        };
        let md = entry.markdown();
        let outcome = self.panes.iter_mut().find_map(|p| p.append_note(&md));
        self.message = Some(match outcome {
            Some(Outcome::Message(m)) => format!("added {} to the notes: {m}", entry.source),
            Some(_) => format!("added {} to the notes", entry.source),
            None => "no notes in this session".into(),
        });
    }

    /// Copy from the active pane (`whole`: the whole view) to the clipboard queue.
    fn yank(&mut self, whole: bool) {
        let ctx = pane_context!(self);
        let got = self
            .panes
            .get(self.active)
            .and_then(|p| p.yank(&ctx, whole));
        self.message = Some(match got {
            Some(y) if !y.text.is_empty() => {
                let (text, cut) = super::clipboard::prepare(&y.text);
                let msg = super::clipboard::message(y.what, &text, cut);
                self.clipboard = Some(text);
                msg
            }
            _ => "nothing to copy here".into(),
        });
    }

    /// Write the case's Markdown report beside the notes (`:w`, the Overview's key); the
    /// message says where, or why not (naming the file).
    pub fn write_report(&self) -> String {
        write_report_message(&self.case, &self.analysis)
    }

    /// Carry out a `:` command.
    fn run_command(&mut self, cmd: Command) {
        match cmd {
            Command::Quit => self.apply(Action::Quit),
            Command::WriteReport => self.message = Some(self.write_report()),
            Command::Open(path) => self.open_case(&path),
            Command::Bugcheck(spec) => {
                let mut words = spec.split_whitespace();
                let code = words.next().and_then(crate::bugcheck::parse_code);
                let params: Vec<Option<u64>> = words
                    .map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok())
                    .collect();
                match (
                    code,
                    params.iter().all(Option::is_some) && params.len() <= 4,
                ) {
                    (Some(code), true) => {
                        let mut p = [0u64; 4];
                        for (slot, v) in p.iter_mut().zip(&params) {
                            *slot = v.unwrap_or_default();
                        }
                        let info = crate::bugcheck::describe(code, p);
                        let text = crate::bugcheck::show_text(code, &info, params.len());
                        self.answer = Some((
                            format!("bug check 0x{code:X}"),
                            text.lines().map(str::to_string).collect(),
                            PopupScroll::default(),
                        ));
                    }
                    (None, _) => {
                        self.message = Some(format!(
                            ":bugcheck {}: neither a bug check code nor a known name",
                            crate::escape::escape_field(&spec)
                        ))
                    }
                    (_, false) => {
                        self.message = Some(":bugcheck takes up to four parameters, in hex".into())
                    }
                }
            }
            Command::Export { format, file } => {
                let ctx = pane_context!(self);
                let Some(pane) = self.panes.get(self.active) else {
                    return;
                };
                let title = pane.title().to_ascii_lowercase();
                self.message = Some(match pane.export(&ctx, format) {
                    Ok((bytes, rows)) => {
                        let path = file.unwrap_or_else(|| {
                            PathBuf::from(format!("bsodwb-{title}.{}", format.extension()))
                        });
                        match write_export(&path, &bytes, self.case.root.as_deref()) {
                            Ok(()) => format!(
                                "wrote {rows} rows to {}",
                                crate::escape::escape_field(&path.display().to_string())
                            ),
                            Err(e) => e,
                        }
                    }
                    Err(e) => e,
                });
            }
            other => {
                let ctx = pane_context!(self);
                let Some(pane) = self.panes.get_mut(self.active) else {
                    return;
                };
                match pane.command(&ctx, &other) {
                    Outcome::Message(m) => self.message = Some(m),
                    Outcome::Focus(k) => self.set_focus(Some(k)),
                    _ => {}
                }
            }
        }
    }

    /// The commands given on the `:` line this session, oldest first.
    pub fn command_history(&self) -> &[String] {
        self.command.history()
    }

    /// The text copied last, if not yet sent to the terminal (the event loop sends it).
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }

    /// Handle one key press (releases and repeats from Windows terminals are dropped).
    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind != KeyEventKind::Press {
            return;
        }
        // Every jump (another pane, another focus) is remembered for Back, wherever it came
        // from: a global key, a pane's hint, a finding, a command.
        let before = self.place();
        let tab = self.tab;
        let navigating = matches!(
            self.keymap.action_for(&key),
            Some(Action::Back | Action::Forward)
        );
        self.handle_key_inner(key);
        // A tab switch is no jump inside a case: each tab keeps its own way back.
        if !navigating && self.tab == tab && self.place() != before {
            self.nav_back.push(before);
            if self.nav_back.len() > NAV_DEPTH {
                self.nav_back.remove(0);
            }
            self.nav_forward.clear();
        }
    }

    /// Where the user is: the pane and the driver focus.
    fn place(&self) -> Place {
        Place {
            pane: self.active,
            focus: self.focus.clone(),
        }
    }

    /// Back (`back` true) or Forward: return to a remembered place; the pane keeps its own
    /// cursor, so the row (a Dump frame, an event) is the one left.
    fn go(&mut self, back: bool) {
        let (from, to) = if back {
            (&mut self.nav_back, &mut self.nav_forward)
        } else {
            (&mut self.nav_forward, &mut self.nav_back)
        };
        let Some(place) = from.pop() else {
            self.message = Some(if back {
                "nothing to go back to".into()
            } else {
                "nothing to go forward to".into()
            });
            return;
        };
        let here = Place {
            pane: self.active,
            focus: self.focus.clone(),
        };
        to.push(here);
        self.active = place.pane.min(self.panes.len().saturating_sub(1));
        if place.focus != self.focus {
            self.set_focus(place.focus);
        }
        self.message = Some(self.breadcrumb());
    }

    /// The way back, oldest first, ending here: `Dump › Integrity (filecrypt.sys) › Timeline`.
    pub fn breadcrumb(&self) -> String {
        let name = |p: &Place| {
            let title = PaneId::ALL.get(p.pane).map_or("?", |id| id.title());
            match &p.focus {
                Some(k) => format!("{title} ({k})"),
                None => title.to_string(),
            }
        };
        let mut parts: Vec<String> = self.nav_back.iter().rev().take(3).rev().map(name).collect();
        parts.push(name(&self.place()));
        parts.join(if self.theme.ascii { " > " } else { " › " })
    }

    fn handle_key_inner(&mut self, key: KeyEvent) {
        if self.confirm_quit {
            self.confirm_quit = false;
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                self.quit = true;
            } else {
                self.message = Some("not quitting".into());
            }
            return;
        }
        if self.help {
            if key.code == KeyCode::Esc
                || matches!(
                    self.keymap.action_for(&key),
                    Some(Action::Help | Action::Quit)
                )
            {
                self.help = false;
            }
            return;
        }
        if let Some((_, _, scroll)) = self.answer.as_mut() {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                self.answer = None;
            } else if let Some(a) = self
                .keymap
                .pane_action(PaneId::ALL[self.active.min(PaneId::ALL.len() - 1)], &key)
            {
                scroll.act(a);
            }
            return;
        }
        if self.command.is_open() {
            match self.command.handle(key) {
                CommandEvent::Run(cmd) => self.run_command(cmd),
                CommandEvent::Invalid(e) => self.message = Some(e),
                CommandEvent::Cancelled | CommandEvent::Editing => {}
            }
            return;
        }
        let captures = self
            .panes
            .get(self.active)
            .is_some_and(|p| p.captures_input());
        // A two-key sequence (`gt`): with more than one tab its first key waits for the
        // second; a second key that completes none replays both. With one tab the first key
        // does its own action at once (`g`: first row).
        if !captures {
            if let Some(first) = self.pending.take() {
                if let Some(action) = self.keymap.sequence_action(&first, &key) {
                    self.message = None;
                    self.apply(action);
                    return;
                }
                self.dispatch(first);
            } else if self.tabs.len() > 1 && self.keymap.starts_sequence(&key) {
                self.pending = Some(key);
                return;
            }
        }
        self.dispatch(key);
    }

    /// A key for the global keymap or the active pane.
    fn dispatch(&mut self, key: KeyEvent) {
        let ctx = pane_context!(self);
        let Some(pane) = self.panes.get_mut(self.active) else {
            return;
        };
        let captures = pane.captures_input();
        let global = if captures {
            None
        } else {
            self.keymap.action_for(&key)
        };
        // Global keys win over pane keys, except while a pane edits text.
        if let Some(action) = global {
            self.message = None;
            self.apply(action);
            return;
        }
        let id = pane.id();
        let bound = if captures {
            None
        } else {
            self.keymap.pane_action(id, &key)
        };
        let outcome = pane.handle_key_with(&self.keymap, key, &ctx);
        if let Some(a) = bound
            && outcome != Outcome::Ignored
        {
            self.last_action = Some((id, a));
        }
        match outcome {
            Outcome::Ignored => {
                if key.code == KeyCode::Esc {
                    self.message = None;
                } else if bound.is_none() && !captures {
                    // An unknown key says so, briefly.
                    self.message = Some(format!(
                        "no action for {} here, {} for help",
                        crate::escape::escape_field(&keymap::key_label(&key)),
                        self.keymap.label_for(Action::Help)
                    ));
                }
            }
            Outcome::Consumed => {}
            Outcome::OpenDump(n) => {
                let dump = PaneId::Dump.index();
                if let Some(p) = self.panes.get_mut(dump) {
                    p.open_dump(n);
                    self.active = dump;
                }
            }
            Outcome::Focus(k) => self.set_focus(Some(k)),
            Outcome::GoTo(i) => self.active = i.min(self.panes.len().saturating_sub(1)),
            Outcome::FocusAndGoTo(k, i) => {
                self.set_focus(Some(k));
                self.active = i.min(self.panes.len().saturating_sub(1));
            }
            Outcome::Message(m) => self.message = Some(m),
            Outcome::Reveal(src) => self.reveal(&src),
        }
    }

    /// Open the pane that shows `src` on its row (Back returns to the finding).
    fn reveal(&mut self, src: &crate::findings::SourceRef) {
        use crate::findings::SourceRef as S;
        let pane = match src {
            S::Dump { .. } | S::Frame { .. } => PaneId::Dump,
            S::Event { .. } | S::Signature { .. } => PaneId::Integrity,
            S::Service { .. } => PaneId::Drivers,
            S::History { .. } => PaneId::History,
        };
        let i = pane.index();
        let ctx = pane_context!(self);
        let Some(p) = self.panes.get_mut(i) else {
            return;
        };
        if p.reveal(src, &ctx) {
            self.active = i;
            self.message = Some(format!("{}: the clue's row", pane.title()));
        } else {
            self.message = Some(format!(
                "the {} pane does not show this row (under the focus?)",
                pane.title()
            ));
        }
    }

    /// Text pasted in one piece goes to the active pane (the notes editor inserts it at once).
    pub fn handle_paste(&mut self, text: &str) {
        if let Some(pane) = self.panes.get_mut(self.active)
            && let Outcome::Message(m) = pane.handle_paste(text)
        {
            self.message = Some(m);
        }
    }

    /// Draw the whole screen.
    pub fn draw(&mut self, frame: &mut Frame) {
        let area = frame.area();
        // With more than one case open, a line of case tabs over the pane tabs.
        let cases_h = u16::from(self.tabs.len() > 1);
        let [cases, tabs, body, status] = Layout::vertical([
            Constraint::Length(cases_h),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        if cases_h > 0 {
            self.draw_case_tabs(frame, cases);
        }
        self.draw_tabs(frame, tabs);
        if let Some((_, progress)) = &self.loading {
            draw_loading(frame, body, progress, &self.theme);
        } else {
            let ctx = pane_context!(self);
            if let Some(pane) = self.panes.get_mut(self.active) {
                pane.render(frame, body, &ctx);
            }
        }
        self.draw_status(frame, status);
        if let Some((title, lines, scroll)) = self.answer.as_mut() {
            let rows: Vec<(String, ratatui::style::Style)> =
                lines.iter().map(|l| (l.clone(), self.theme.text)).collect();
            let rect = widgets::popup::centred(
                body,
                body.width.saturating_sub(4).min(110),
                body.height.saturating_sub(2),
            );
            widgets::popup::render(
                frame,
                rect,
                &format!("{title} (Esc closes)"),
                &rows,
                &self.theme,
                scroll,
            );
        }
        if self.command.is_open() && body.height >= 3 {
            let bar = Rect {
                y: body.bottom() - 3,
                height: 3,
                ..body
            };
            frame.render_widget(ratatui::widgets::Clear, bar);
            self.command.render(frame, bar, &self.theme);
        }
        if self.help {
            let (title, hints) = self
                .panes
                .get(self.active)
                .map(|p| (p.title(), self.keymap.hints(p.id())))
                .unwrap_or((PaneId::Overview.title(), Vec::new()));
            widgets::help::render(frame, body, title, &hints, &self.keymap, &self.theme);
        }
    }

    /// The case tabs: each case's number and name, the shown one in reverse video, the keys
    /// that switch.
    fn draw_case_tabs(&self, frame: &mut Frame, area: Rect) {
        let names = self.tab_names();
        let n = names.len();
        let keys = format!(
            " {}/{}",
            self.keymap.label_for(Action::NextTab),
            self.keymap.label_for(Action::PrevTab)
        );
        // Each name gets an even share of the width left after the keys.
        let share = (area.width as usize)
            .saturating_sub(keys.chars().count())
            .checked_div(n)
            .unwrap_or(0)
            .saturating_sub(5)
            .max(6);
        let mut spans = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let style = if i == self.tab {
                self.theme.tab_active
            } else {
                self.theme.text
            };
            let loading = if i == self.tab && self.loading.is_some() {
                "…"
            } else {
                ""
            };
            spans.push(Span::styled(
                format!(
                    " [{}] {}{loading} ",
                    i + 1,
                    widgets::fit_middle(name, share)
                ),
                style,
            ));
        }
        spans.push(Span::styled(keys, self.theme.key));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn draw_tabs(&self, frame: &mut Frame, area: Rect) {
        let mut spans = Vec::new();
        for id in PaneId::ALL {
            let style = if id.index() == self.active {
                self.theme.tab_active
            } else {
                self.theme.dim
            };
            let text = match self.keymap.key_for(Action::ShowPane(id)) {
                Some(k) => format!(" {} {} ", keymap::label(k), id.title()),
                None => format!(" {} ", id.title()),
            };
            spans.push(Span::styled(text, style));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn draw_status(&self, frame: &mut Frame, area: Rect) {
        let mode = if self.help {
            "HELP"
        } else {
            self.panes.get(self.active).map_or("NORMAL", |p| p.mode())
        };
        let focus = match &self.focus {
            Some(k) => format!("focus: {k}"),
            None => "focus: none".to_string(),
        };
        let left = format!(" {mode} | {focus} | ");
        let width = area.width as usize;
        let right = match &self.message {
            Some(m) => m.clone(),
            None => {
                // The pane's own keys, as many whole entries as fit.
                let (mut bar, extra) = self.hint_bar_parts();
                let mut used = left.chars().count() + bar.chars().count();
                for e in extra {
                    used += e.chars().count();
                    if used > width {
                        break;
                    }
                    bar.push_str(&e);
                }
                bar
            }
        };
        let text = fit(&format!("{left}{right}"), width);
        let line = Line::from(vec![Span::styled(
            format!("{text:<width$}"),
            self.theme.status,
        )]);
        frame.render_widget(Paragraph::new(line), area);
    }

    /// The hint bar (the status line without a message): help and pane keys, the active pane's
    /// focus key next to the global clear-focus key, quit, then the pane's own keys, all from
    /// the keymap.
    pub fn hint_bar(&self) -> String {
        let (mut out, extra) = self.hint_bar_parts();
        for e in extra {
            out.push_str(&e);
        }
        out
    }

    /// The hint bar's fixed part and the pane's own entries (each with its leading spaces).
    fn hint_bar_parts(&self) -> (String, Vec<String>) {
        let k = |a| self.keymap.label_for(a);
        let bar = self
            .panes
            .get(self.active)
            .map(|p| self.keymap.bar(p.id()))
            .unwrap_or_default();
        let mut out = format!("{} help  {} pane  ", k(Action::Help), k(Action::NextPane));
        for (_, keys, short) in bar.iter().filter(|b| b.0 == PaneAction::Focus) {
            out.push_str(&format!("{keys} {short}  "));
        }
        out.push_str(&format!(
            "{} clear  {} quit",
            k(Action::ClearFocus),
            k(Action::Quit)
        ));
        let ascii = |s: String| {
            if self.theme.ascii {
                widgets::help::ascii_glyphs(&s)
            } else {
                s
            }
        };
        let extra = bar
            .iter()
            .filter(|b| b.0 != PaneAction::Focus)
            .map(|(_, keys, short)| ascii(format!("  {keys} {short}")))
            .collect();
        (ascii(out), extra)
    }

    /// The text of the active pane's title (for tests).
    pub fn active_title(&self) -> &'static str {
        self.panes.get(self.active).map_or("", |p| p.title())
    }
}

fn draw_loading(frame: &mut Frame, area: Rect, progress: &LoadProgress, theme: &Theme) {
    let block = widgets::block("Loading the case", theme, true);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [msg, gauge, _, rows] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(fit(&progress.stage, inner.width as usize)),
        msg,
    );
    let ratio = if progress.total > 0 {
        progress.done as f64 / progress.total as f64
    } else {
        0.0
    };
    frame.render_widget(
        Gauge::default()
            .gauge_style(theme.key)
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!("{}/{} files", progress.done, progress.total)),
        gauge,
    );
    // One line per artefact: files and bytes done of its total (rows with nothing to do are left out).
    let width = inner.width as usize;
    let lines: Vec<Line> = progress
        .artefacts
        .iter()
        .enumerate()
        .filter(|(i, a)| *i == 0 || a.files_total > 0)
        .map(|(_, a)| {
            let text = format!(
                "{:<18} {:>5}/{:<5} files  {:>9} of {:<9}",
                a.name,
                a.files_done,
                a.files_total,
                crate::text::human_size(a.bytes_done),
                crate::text::human_size(a.bytes_total)
            );
            let style = if a.files_total > 0 && a.files_done >= a.files_total {
                theme.dim
            } else {
                theme.text
            };
            Line::from(Span::styled(fit(text.trim_end(), width), style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), rows);
}

/// Write the report of `case` and say what happened, in one status line.
pub(crate) fn write_report_message(case: &Case, analysis: &CaseAnalysis) -> String {
    let text = match crate::report::write_for(case, analysis) {
        Ok(path) => format!(
            "report written to {} ({} finding(s))",
            path.display(),
            analysis.findings.len()
        ),
        Err(e) => e,
    };
    crate::escape::escape_field(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::keymap::key_event;

    fn screen(app: &mut App, w: u16, h: u16) -> String {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h))
            .expect("test terminal");
        term.draw(|f| app.draw(f)).expect("draw");
        let buf = term.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    /// Every binding of `keymap` reaches its handler when its key is pressed (and no other
    /// global action fires), and the `?` overlay lists its key with its description.
    fn every_binding_reaches_its_handler_and_the_help(keymap: &Keymap) {
        let focus = DriverKey::from_path("filecrypt.sys");
        assert!(focus.is_some());
        for b in &keymap.global {
            let mut app = App::new(Case::empty(), Theme::ansi16());
            app.keymap = keymap.clone();
            // Start on a middle pane, with a focus, so each action has something to change.
            app.active = PaneId::Timeline.index();
            app.set_focus(focus.clone());
            let what = format!("{:?} -> {:?}", b.key, b.action);
            if matches!(b.action, Action::NextTab | Action::PrevTab) {
                // A second case tab to switch to (the one shown after :open).
                let other = tempfile::tempdir().expect("tempdir");
                app.open_case(other.path());
                assert_eq!(app.tab_count(), (2, 1), "{what}");
                let [first, second] = keymap::key_sequence(&b.key)
                    .unwrap_or_else(|| panic!("{what}: a two-key sequence"));
                app.handle_key(first);
                assert_eq!(app.tab_count(), (2, 1), "{what}: the first key waits");
                app.handle_key(second);
                assert_eq!(app.tab_count(), (2, 0), "{what}");
                assert_eq!(app.active, PaneId::Timeline.index(), "{what}");
                assert_eq!(app.focus, focus, "{what}");
                continue;
            }
            let ev = key_event(&b.key).unwrap_or_else(|| panic!("{:?} is no key", b.key));
            app.handle_key(ev);
            let n = PaneId::ALL.len();
            match b.action {
                Action::NextPane => assert_eq!(app.active, PaneId::Timeline.index() + 1, "{what}"),
                Action::PrevPane => assert_eq!(app.active, PaneId::Timeline.index() - 1, "{what}"),
                Action::ShowPane(p) => {
                    assert_eq!(app.active_title(), p.title(), "{what}");
                    assert!(app.active < n);
                }
                Action::ClearFocus => assert!(app.focus.is_none(), "{what}"),
                // The empty case has nothing to copy: the status line says so.
                Action::Command => assert!(app.command.is_open(), "{what}"),
                // Nothing to go back or forward to yet: the status line says so.
                Action::Back | Action::Forward => assert!(
                    app.message
                        .as_deref()
                        .is_some_and(|m| m.starts_with("nothing to go")),
                    "{what}"
                ),
                Action::Yank | Action::YankView => assert_eq!(
                    app.message.as_deref(),
                    Some("nothing to copy here"),
                    "{what}"
                ),
                Action::Help => assert!(app.help, "{what}"),
                Action::Quit => assert!(app.quit, "{what}"),
                Action::NextTab | Action::PrevTab => unreachable!("switched above"),
                // The empty case's Timeline has no list: nothing to mark, no event to add to
                // the notes.
                Action::Mark | Action::JumpMark => assert_eq!(
                    app.message.as_deref(),
                    Some("no list here to mark"),
                    "{what}"
                ),
                Action::Note => assert_eq!(
                    app.message.as_deref(),
                    Some("nothing selected here to add to the notes"),
                    "{what}"
                ),
            }
            assert_eq!(app.quit, b.action == Action::Quit, "{what}");
            assert_eq!(app.help, b.action == Action::Help, "{what}");
            assert_eq!(
                app.focus.is_none(),
                b.action == Action::ClearFocus,
                "{what}"
            );
            let moved = matches!(
                b.action,
                Action::NextPane | Action::PrevPane | Action::ShowPane(_)
            ) && b.action != Action::ShowPane(PaneId::Timeline);
            assert_eq!(app.active != PaneId::Timeline.index(), moved, "{what}");
        }
        let help = keymap.key_for(Action::Help).expect("a help key");
        for size in [(80, 24), (120, 40)] {
            let mut app = App::new(Case::empty(), Theme::ansi16());
            app.keymap = keymap.clone();
            app.handle_key(key_event(help).expect("help key"));
            assert!(app.help);
            let text = screen(&mut app, size.0, size.1);
            // Adjacent keys of one description share a line.
            for h in keymap.global_hints() {
                let key = if h.key.chars().count() >= 12 {
                    format!("{} ", h.key)
                } else {
                    h.key.clone()
                };
                let line = format!("  {key:<12}{}", h.desc);
                assert!(text.contains(&line), "{size:?}: `?` lacks {line:?}\n{text}");
                for k in h.key.split('/') {
                    assert!(
                        keymap.global.iter().any(|b| keymap::label(&b.key) == k),
                        "{k}"
                    );
                }
            }
            for b in &keymap.global {
                assert!(
                    keymap.global_hints().iter().any(|h| h.desc == b.desc
                        && h.key.split('/').any(|k| k == keymap::label(&b.key))),
                    "{:?} has a help line",
                    b.key
                );
            }
            // The same key closes it.
            app.handle_key(key_event(help).expect("help key"));
            assert!(!app.help);
        }
    }

    #[test]
    fn every_key_of_the_keymap_file_reaches_its_handler_and_shows_in_help() {
        let keymap = Keymap::builtin();
        assert!(keymap.global.len() >= Action::all().len());
        every_binding_reaches_its_handler_and_the_help(&keymap);
    }

    #[test]
    fn overridden_keys_drive_the_app_tab_bar_status_line_and_help() {
        let keymap = Keymap::with_overrides(
            "[[global]]\nkey = \"Q\"\naction = \"quit\"\n\n\
             [[global]]\nkey = \"f2\"\naction = \"pane:dump\"\n\n\
             [[global]]\nkey = \"H\"\naction = \"help\"\ndesc = \"keys\"\n",
        )
        .expect("overrides");
        every_binding_reaches_its_handler_and_the_help(&keymap);
        let mut app = App::new(Case::empty(), Theme::ansi16());
        app.keymap = keymap;
        let text = screen(&mut app, 100, 24);
        assert!(text.contains(" F2 Dump "), "{text}");
        assert!(
            text.contains("H help  Tab pane  f focus  F clear  Q quit"),
            "{text}"
        );
        // The old keys do nothing now.
        app.handle_key(key_event("q").expect("q"));
        app.handle_key(key_event("?").expect("?"));
        assert!(!app.quit && !app.help);
        app.handle_key(key_event("2").expect("2"));
        assert_eq!(app.active, 0);
    }

    /// Load the shown tab's case to the end (the loader is a worker thread).
    fn settle(app: &mut App) {
        for _ in 0..500 {
            app.tick();
            if !app.is_loading() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the case did not load");
    }

    #[test]
    fn open_case_adds_a_tab_named_after_the_case_and_gt_switches() {
        let first = tempfile::tempdir().expect("tempdir");
        let second = tempfile::tempdir().expect("tempdir");
        let case = Case::load(first.path(), &mut |_| {}).expect("load");
        let mut app = App::new(case, Theme::ansi16());
        app.active = PaneId::Drivers.index();
        app.open_case(second.path());
        assert_eq!(app.tab_count(), (2, 1));
        settle(&mut app);
        assert_eq!(
            app.case.root.as_deref(),
            second.path().canonicalize().ok().as_deref()
        );
        assert_eq!(app.active, 0, "a new tab opens on the Overview");
        let names = app.tab_names();
        let name = |d: &tempfile::TempDir| {
            d.path()
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(names, [name(&first), name(&second)]);
        let text = screen(&mut app, 80, 24);
        let top = text.lines().next().expect("a line");
        assert!(top.contains("[1]") && top.contains("[2]"), "{text}");
        assert!(top.contains("gt/gT"), "{text}");
        // gt wraps to the first case, which kept its pane.
        app.handle_key(key_event("g").expect("g"));
        app.handle_key(key_event("t").expect("t"));
        assert_eq!(app.tab_count(), (2, 0));
        assert_eq!(app.active, PaneId::Drivers.index());
        assert_eq!(app.case.root.as_deref(), Some(first.path()));
        // `g` then another key: the first row, then that key's own action.
        app.handle_key(key_event("g").expect("g"));
        app.handle_key(key_event("2").expect("2"));
        assert_eq!(app.active, PaneId::Dump.index());
        assert_eq!(app.tab_count(), (2, 0));
        // Each tab keeps its own way back.
        app.handle_key(key_event("g").expect("g"));
        app.handle_key(key_event("T").expect("T"));
        assert_eq!(app.tab_count(), (2, 1));
        app.apply(Action::Back);
        assert_eq!(app.message.as_deref(), Some("nothing to go back to"));
    }

    #[test]
    fn a_bad_path_never_strands_the_user() {
        let mut app = App::new(Case::empty(), Theme::ansi16());
        app.active = PaneId::Dump.index();
        app.run_command(Command::Open(PathBuf::from("/no/such/case")));
        assert_eq!(app.tab_count(), (1, 0));
        assert_eq!(app.active, PaneId::Dump.index());
        let m = app.message.clone().unwrap_or_default();
        assert!(m.starts_with("cannot open /no/such/case: "), "{m}");
        // A case that fails while loading closes its tab and says why, on the tab before.
        let other = tempfile::tempdir().expect("tempdir");
        app.open_case(other.path());
        settle(&mut app);
        assert_eq!(app.tab_count(), (2, 1));
        app.close_failed_tab("cannot open x: broken".into());
        assert_eq!(app.tab_count(), (1, 0));
        assert_eq!(app.active, PaneId::Dump.index());
        assert_eq!(app.message.as_deref(), Some("cannot open x: broken"));
        assert!(
            !screen(&mut app, 80, 24)
                .lines()
                .next()
                .unwrap_or("")
                .contains("[1]")
        );
    }

    #[test]
    fn the_default_status_line_and_tab_bar_read_the_keymap() {
        let mut app = App::new(Case::empty(), Theme::ansi16());
        let text = screen(&mut app, 100, 24);
        assert!(
            text.contains("? help  Tab pane  f focus  F clear  q quit"),
            "{text}"
        );
        for id in PaneId::ALL {
            assert!(
                text.contains(&format!(" {} {} ", id.index() + 1, id.title())),
                "{text}"
            );
        }
    }
}
