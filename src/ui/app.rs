//! The application state and its event handling. Rendering reads this state; it does no I/O.

use super::action::{Action, Outcome};
use super::keymap::Keymap;
use super::pane::{Pane, PaneContext};
use super::panes;
use super::theme::Theme;
use super::widgets::{self, fit};
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

/// The panes in tab order; the digit keys 1-6 select them.
pub const PANE_TITLES: [&str; 6] = [
    "Overview",
    "Dump",
    "Timeline",
    "Integrity",
    "Drivers",
    "Notes",
];

/// Messages from the loading worker.
pub enum LoadMsg {
    Progress(LoadProgress),
    Done(Box<Result<Case, String>>),
}

pub struct App {
    pub case: Arc<Case>,
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
}

impl App {
    /// An app over an already loaded case.
    pub fn new(case: Case, theme: Theme) -> App {
        let mut app = App {
            case: Arc::new(Case::empty()),
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
        };
        app.install(case);
        app
    }

    /// An app that loads `root` on a worker thread; the UI draws progress meanwhile.
    pub fn loading(root: PathBuf, theme: Theme) -> App {
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("case-loader".into())
            .spawn(move || {
                let progress_tx = tx.clone();
                let mut last = std::time::Instant::now();
                let result = Case::load(&root, &mut |p| {
                    // A few updates a second is plenty; the UI coalesces anyway.
                    if last.elapsed() > std::time::Duration::from_millis(50)
                        || p.total > 0 && p.done == p.total
                    {
                        last = std::time::Instant::now();
                        let _ = progress_tx.send(LoadMsg::Progress(p));
                    }
                });
                let _ = tx.send(LoadMsg::Done(Box::new(result.map_err(|e| e.to_string()))));
            })
            .map_err(|e| tracing::error!("cannot start the loader thread: {e}"))
            .ok();
        let mut app = App::new(Case::empty(), theme);
        app.loading = Some((
            rx,
            LoadProgress {
                stage: "starting".into(),
                ..LoadProgress::default()
            },
        ));
        app
    }

    fn install(&mut self, case: Case) {
        self.case = Arc::new(case);
        self.panes = panes::build(&self.case);
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
                Ok(case) => self.install(case),
                Err(e) => self.message = Some(e),
            }
        }
        for pane in &mut self.panes {
            changed |= pane.tick();
        }
        changed
    }

    pub fn set_focus(&mut self, focus: Option<DriverKey>) {
        self.focus = focus;
        for pane in &mut self.panes {
            pane.on_focus(self.focus.as_ref(), &self.case);
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
            Action::Pane1 => self.active = 0,
            Action::Pane2 => self.active = 1.min(n - 1),
            Action::Pane3 => self.active = 2.min(n - 1),
            Action::Pane4 => self.active = 3.min(n - 1),
            Action::Pane5 => self.active = 4.min(n - 1),
            Action::Pane6 => self.active = 5.min(n - 1),
            Action::ClearFocus => self.set_focus(None),
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

    /// Handle one key press (releases and repeats from Windows terminals are dropped).
    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind != KeyEventKind::Press {
            return;
        }
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
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
            ) {
                self.help = false;
            }
            return;
        }
        let case = Arc::clone(&self.case);
        let ctx = PaneContext {
            case: &case,
            focus: self.focus.as_ref(),
            theme: &self.theme,
        };
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
        let outcome = pane.handle_key(key, &ctx);
        match outcome {
            Outcome::Ignored => {
                if key.code == KeyCode::Esc {
                    self.message = None;
                }
            }
            Outcome::Consumed => {}
            Outcome::Focus(k) => self.set_focus(Some(k)),
            Outcome::GoTo(i) => self.active = i.min(self.panes.len().saturating_sub(1)),
            Outcome::FocusAndGoTo(k, i) => {
                self.set_focus(Some(k));
                self.active = i.min(self.panes.len().saturating_sub(1));
            }
            Outcome::Message(m) => self.message = Some(m),
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
        let [tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.draw_tabs(frame, tabs);
        let case = Arc::clone(&self.case);
        if let Some((_, progress)) = &self.loading {
            draw_loading(frame, body, progress, &self.theme);
        } else if let Some(pane) = self.panes.get_mut(self.active) {
            let ctx = PaneContext {
                case: &case,
                focus: self.focus.as_ref(),
                theme: &self.theme,
            };
            pane.render(frame, body, &ctx);
        }
        self.draw_status(frame, status);
        if self.help {
            let (title, hints) = self
                .panes
                .get(self.active)
                .map(|p| (p.title(), p.hints()))
                .unwrap_or(("Overview", Vec::new()));
            widgets::help::render(frame, body, title, &hints, &self.keymap, &self.theme);
        }
    }

    fn draw_tabs(&self, frame: &mut Frame, area: Rect) {
        let mut spans = Vec::new();
        for (i, title) in PANE_TITLES.iter().enumerate() {
            let style = if i == self.active {
                self.theme.tab_active
            } else {
                self.theme.dim
            };
            spans.push(Span::styled(format!(" {} {title} ", i + 1), style));
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
        let right = match &self.message {
            Some(m) => m.clone(),
            None => "? help  Tab pane  f focus  F clear  q quit".to_string(),
        };
        let left = format!(" {mode} | {focus} | ");
        let width = area.width as usize;
        let text = fit(&format!("{left}{right}"), width);
        let line = Line::from(vec![Span::styled(
            format!("{text:<width$}"),
            self.theme.status,
        )]);
        frame.render_widget(Paragraph::new(line), area);
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
                super::panes::overview::human_size(a.bytes_done),
                super::panes::overview::human_size(a.bytes_total)
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
