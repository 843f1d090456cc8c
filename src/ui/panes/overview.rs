//! Overview: the findings, the case inventory (every file, its sniffed kind) and every load
//! problem, each a list with a cursor (h/l moves between them). `/` searches all three.

use crate::case::{Case, Kind};
use crate::driver::DriverKey;
use crate::findings::Severity;
use crate::ui::action::Outcome;
use crate::ui::pane::{Hint, Pane, PaneContext, hint};
use crate::ui::pane_id::PaneId;
use crate::ui::widgets::popup::{self, PopupScroll};
use crate::ui::widgets::search::{Edit, Jump, Search};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Which list has the cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum List {
    /// The findings, first when the case has any.
    #[default]
    Findings,
    Files,
    /// The load problems.
    Problems,
}

#[derive(Default)]
pub struct OverviewPane {
    cursor: Cursor,
    finding: Cursor,
    problem: Cursor,
    list: List,
    /// The popup of the selected finding (its evidence) or load problem is open.
    detail: bool,
    /// The popup's first shown row and its rows per page at the last render.
    popup: PopupScroll,
    /// `/` over the findings, the files, then the load problems.
    search: Search,
}

impl OverviewPane {
    pub fn new() -> OverviewPane {
        OverviewPane::default()
    }

    /// The list that has the cursor (an empty list hands it to the files).
    pub fn list(&self, case: &Case) -> List {
        match self.list {
            List::Findings if case.findings.is_empty() => List::Files,
            List::Problems if case.problems.is_empty() => List::Files,
            l => l,
        }
    }

    /// The selected row of each list: (finding, file, problem).
    pub fn selected(&self) -> (usize, usize, usize) {
        (
            self.finding.selected,
            self.cursor.selected,
            self.problem.selected,
        )
    }

    /// Move to a match: the findings, then the files, then the load problems.
    fn search_jump(&mut self, case: &Case, how: Jump) -> Outcome {
        let files = files_of(case);
        let (nf, nfiles) = (case.findings.len(), files.len());
        let cursor = match self.list(case) {
            List::Findings => self.finding.selected,
            List::Files => nf + self.cursor.selected,
            List::Problems => nf + nfiles + self.problem.selected,
        };
        let search = &self.search;
        let (to, outcome) = search.jump(
            nf + nfiles + case.problems.len(),
            cursor,
            how,
            "finding, file or load problem",
            |i| {
                if i < nf {
                    finding_matches(search, &case.findings[i])
                } else if i < nf + nfiles {
                    file_matches(search, &files[i - nf])
                } else {
                    case.problems
                        .get(i - nf - nfiles)
                        .is_some_and(|p| search.matches_any([p.path.as_str(), &p.message]))
                }
            },
        );
        if let Some(i) = to {
            if i < nf {
                self.list = List::Findings;
                self.finding.selected = i;
            } else if i < nf + nfiles {
                self.list = List::Files;
                self.cursor.selected = i - nf;
            } else {
                self.list = List::Problems;
                self.problem.selected = i - nf - nfiles;
            }
        }
        outcome
    }
}

fn files_of(case: &Case) -> &[crate::case::CaseFile] {
    case.inventory
        .as_ref()
        .map(|i| i.files.as_slice())
        .unwrap_or(&[])
}

/// The second line a finding shows under its title.
fn finding_line(f: &crate::findings::Finding) -> Option<String> {
    if let Some(r) = &f.remediation {
        Some(format!("  => {r}"))
    } else {
        f.evidence.first().map(|e| format!("  {e}"))
    }
}

fn finding_matches(search: &Search, f: &crate::findings::Finding) -> bool {
    search.matches_any([f.title.as_str(), finding_line(f).as_deref().unwrap_or("")])
}

fn file_matches(search: &Search, f: &crate::case::CaseFile) -> bool {
    search.matches_any([
        f.path.as_str(),
        f.kind.as_str(),
        &human_size(f.size),
        &f.detail,
    ])
}

pub(crate) fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

impl Pane for OverviewPane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Overview.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        let Some(root) = ctx.case.root.as_ref() else {
            let lines = vec![
                Line::styled("No case is open.", theme.header),
                Line::raw(""),
                Line::raw("Open a case folder copied off the broken machine:"),
                Line::styled("  bsodwb PATH/TO/CASE", theme.key),
                Line::raw(""),
                Line::raw(
                    "A case folder may hold MEMORY.DMP or Minidump\\*.dmp, Bootlog.pml (zipped is",
                ),
                Line::raw("fine), CodeIntegrity and System .evtx logs, driver files, CatRoot and"),
                Line::raw(
                    "servicing\\Packages catalogs, the SYSTEM hive, sigcheck CSV and SIGVERIF.TXT.",
                ),
                Line::raw(""),
                Line::styled("Press ? for keys, q to quit.", theme.dim),
            ];
            frame.render_widget(
                Paragraph::new(lines).block(widgets::block(PaneId::Overview.title(), theme, true)),
                area,
            );
            return;
        };
        let (area, search_area) = self.search.split(area);
        let files = files_of(ctx.case);
        let problems = &ctx.case.problems;
        let active = self.list(ctx.case);
        let problem_rows = problems.len().clamp(1, 4) as u16;
        let findings = &ctx.case.findings;
        let finding_rows = if findings.is_empty() {
            0
        } else {
            (findings.len() as u16 * 2).min(area.height / 3) + 2
        };
        let [head, found, list, probs] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(finding_rows),
            Constraint::Min(3),
            Constraint::Length(problem_rows + 2),
        ])
        .areas(area);
        if !findings.is_empty() {
            let mut flines = Vec::new();
            let rows = found.height.saturating_sub(2) as usize;
            // Two lines a finding: keep the selected one on screen.
            let range = self.finding.window(findings.len(), (rows / 2).max(1));
            for (i, f) in findings
                .iter()
                .enumerate()
                .skip(range.start)
                .take(range.len())
            {
                let selected = active == List::Findings && i == self.finding.selected;
                let style = match f.severity {
                    Severity::Critical | Severity::Error => theme.bad,
                    Severity::Warning => theme.warn,
                    Severity::Info => theme.text,
                };
                let focused = f.driver.is_some() && f.driver.as_ref() == ctx.focus;
                flines.push(Line::styled(
                    fit(&f.title, found.width.saturating_sub(2) as usize),
                    if selected {
                        theme.selected
                    } else if focused {
                        theme.focused_driver
                    } else if finding_matches(&self.search, f) {
                        theme.key
                    } else {
                        style
                    },
                ));
                if let Some(l) = finding_line(f) {
                    flines.push(Line::styled(l, theme.dim));
                }
            }
            let title = format!(
                "Findings ({}): Enter evidence, f focus its driver",
                findings.len()
            );
            frame.render_widget(
                Paragraph::new(flines).block(widgets::block(
                    &title,
                    theme,
                    active == List::Findings,
                )),
                found,
            );
        }

        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for f in files {
            *counts.entry(f.kind.as_str()).or_default() += 1;
        }
        let summary: Vec<String> = counts
            .iter()
            .filter(|(k, _)| **k != "unknown")
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let head_lines = vec![
            Line::from(vec![
                Span::styled("Case ", theme.header),
                Span::raw(root.display().to_string()),
            ]),
            Line::raw(format!("{} files: {}", files.len(), summary.join(", "))),
        ];
        frame.render_widget(Paragraph::new(head_lines), head);

        let block = widgets::block(
            "Files (Enter opens the pane that shows a file)",
            theme,
            active == List::Files,
        );
        let inner = block.inner(list);
        frame.render_widget(block, list);
        let range = self.cursor.window(files.len(), inner.height as usize);
        let w = inner.width as usize;
        let longest = files
            .iter()
            .map(|f| f.path.chars().count())
            .max()
            .unwrap_or(4);
        let path_w = longest.min(w.saturating_sub(38)).max(10);
        let lines: Vec<Line> = files[range.clone()]
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let row = range.start + i;
                let text = format!(
                    "{:<path_w$} {:<13} {:>10}  {}",
                    fit(&f.path, path_w),
                    f.kind.as_str(),
                    human_size(f.size),
                    f.detail
                );
                let focused = ctx
                    .focus
                    .is_some_and(|k| k.matches_path(&f.path.replace('/', "\\")));
                let style = if active == List::Files && row == self.cursor.selected {
                    theme.selected
                } else if focused {
                    theme.focused_driver
                } else if file_matches(&self.search, f) {
                    theme.key
                } else if f.kind == Kind::Unknown {
                    theme.dim
                } else {
                    theme.text
                };
                Line::styled(fit(&text, w), style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);

        // One line a problem (Enter shows it whole), scrolled to keep the cursor in view.
        let title = if problems.is_empty() {
            "Load problems (0)".to_string()
        } else {
            format!("Load problems ({}): Enter shows one", problems.len())
        };
        let block = widgets::block(&title, theme, active == List::Problems);
        let inner = block.inner(probs);
        frame.render_widget(block, probs);
        let mut plines = Vec::new();
        if problems.is_empty() {
            plines.push(Line::styled("Everything in the case was read.", theme.good));
        } else {
            let range = self.problem.window(problems.len(), inner.height as usize);
            let w = inner.width as usize;
            for (i, p) in problems
                .iter()
                .enumerate()
                .skip(range.start)
                .take(range.len())
            {
                let path = fit(&format!("{}: ", p.path), w);
                let message = fit(&p.message, w.saturating_sub(path.chars().count()));
                let line = if active == List::Problems && i == self.problem.selected {
                    Line::styled(format!("{path}{message}"), theme.selected)
                } else if self.search.matches_any([p.path.as_str(), &p.message]) {
                    Line::styled(format!("{path}{message}"), theme.key)
                } else {
                    Line::from(vec![Span::styled(path, theme.bad), Span::raw(message)])
                };
                plines.push(line);
            }
        }
        frame.render_widget(Paragraph::new(plines), inner);
        self.search.render(frame, search_area, theme);
        // The popup goes over everything else.
        if self.detail {
            match active {
                List::Findings => {
                    if let Some(f) = ctx.case.findings.get(self.finding.selected) {
                        render_evidence(frame, area, f, theme, &mut self.popup);
                    }
                }
                List::Problems => {
                    if let Some(p) = problems.get(self.problem.selected) {
                        render_problem(frame, area, p, theme, &mut self.popup);
                    }
                }
                List::Files => {}
            }
        }
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Outcome {
        if self.search.is_open() {
            return match self.search.edit(key) {
                Edit::Applied => self.search_jump(ctx.case, Jump::First),
                Edit::Cancelled | Edit::Editing => Outcome::Consumed,
            };
        }
        let files = files_of(ctx.case);
        let findings = &ctx.case.findings;
        let list = self.list(ctx.case);
        if self.detail {
            // The popup takes Esc and Enter (close), the scroll keys and, over a finding, f
            // (focus). The render clamps the scroll to the text.
            let page = self.popup.page.max(1);
            let top = &mut self.popup.top;
            return match key.code {
                KeyCode::Esc | KeyCode::Enter => {
                    self.detail = false;
                    Outcome::Consumed
                }
                KeyCode::Char('f') if list == List::Findings => self.focus_finding(ctx),
                KeyCode::Down | KeyCode::Char('j') => {
                    *top = top.saturating_add(1);
                    Outcome::Consumed
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    *top = top.saturating_sub(1);
                    Outcome::Consumed
                }
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    *top = top.saturating_add(page);
                    Outcome::Consumed
                }
                KeyCode::PageUp => {
                    *top = top.saturating_sub(page);
                    Outcome::Consumed
                }
                KeyCode::Home | KeyCode::Char('g') => {
                    *top = 0;
                    Outcome::Consumed
                }
                KeyCode::End | KeyCode::Char('G') => {
                    *top = usize::MAX;
                    Outcome::Consumed
                }
                _ => Outcome::Consumed,
            };
        }
        // h/l go round the lists the case has: findings, files, load problems.
        let lists: Vec<List> = [
            (List::Findings, !findings.is_empty()),
            (List::Files, true),
            (List::Problems, !ctx.case.problems.is_empty()),
        ]
        .into_iter()
        .filter_map(|(l, has)| has.then_some(l))
        .collect();
        let at = lists.iter().position(|l| *l == list).unwrap_or(0);
        match key.code {
            KeyCode::Right | KeyCode::Char('l') if lists.len() > 1 => {
                self.list = lists[(at + 1) % lists.len()];
                return Outcome::Consumed;
            }
            KeyCode::Left | KeyCode::Char('h') if lists.len() > 1 => {
                self.list = lists[(at + lists.len() - 1) % lists.len()];
                return Outcome::Consumed;
            }
            KeyCode::Char('/') if ctx.case.root.is_some() => {
                self.search.open("Search findings, files and load problems");
                return Outcome::Consumed;
            }
            KeyCode::Char('n') => return self.search_jump(ctx.case, Jump::Next),
            KeyCode::Char('N') => return self.search_jump(ctx.case, Jump::Prev),
            _ => {}
        }
        match list {
            List::Findings => {
                if self.finding.handle(&key, findings.len()) {
                    return Outcome::Consumed;
                }
                match key.code {
                    KeyCode::Enter => {
                        self.detail = true;
                        self.popup = PopupScroll::default();
                        Outcome::Consumed
                    }
                    KeyCode::Char('f') => self.focus_finding(ctx),
                    _ => Outcome::Ignored,
                }
            }
            List::Problems => {
                if self.problem.handle(&key, ctx.case.problems.len()) {
                    return Outcome::Consumed;
                }
                match key.code {
                    KeyCode::Enter => {
                        self.detail = true;
                        self.popup = PopupScroll::default();
                        Outcome::Consumed
                    }
                    _ => Outcome::Ignored,
                }
            }
            List::Files => {
                if self.cursor.handle(&key, files.len()) {
                    return Outcome::Consumed;
                }
                match key.code {
                    KeyCode::Enter => match files
                        .get(self.cursor.selected)
                        .and_then(|f| PaneId::for_file(f.kind))
                    {
                        Some(p) => Outcome::GoTo(p.index()),
                        None => Outcome::Message("no pane shows this kind of file".into()),
                    },
                    KeyCode::Char('f') => match files.get(self.cursor.selected) {
                        Some(f) if f.kind == Kind::PeImage => {
                            DriverKey::from_path(&f.path.replace('/', "\\"))
                                .map_or(Outcome::Consumed, Outcome::Focus)
                        }
                        _ => Outcome::Message("select a driver file to focus it".into()),
                    },
                    _ => Outcome::Ignored,
                }
            }
        }
    }

    fn on_focus(&mut self, _focus: Option<&DriverKey>, _case: &Case) {}

    fn hints(&self) -> Vec<Hint> {
        vec![
            hint("j/k ↑/↓", "move"),
            hint("h/l ←/→", "findings/files/problems"),
            hint("PgUp/PgDn", "page"),
            hint("g/G", "first/last row"),
            hint(
                "Enter",
                "a finding's evidence, a whole problem, a file's pane",
            ),
            hint("f", "focus the driver of the finding or file"),
            hint("/", "search findings, files, problems"),
            hint("n/N", "next/previous match"),
            hint("j/k PgDn", "scroll a popup (PgUp, g/G)"),
            hint("Esc", "close the popup"),
        ]
    }

    fn captures_input(&self) -> bool {
        self.search.is_open()
    }
}

impl OverviewPane {
    fn focus_finding(&self, ctx: &PaneContext) -> Outcome {
        match ctx
            .case
            .findings
            .get(self.finding.selected)
            .and_then(|f| f.driver.clone())
        {
            Some(k) => Outcome::Focus(k),
            None => Outcome::Message("this finding is about no single driver".into()),
        }
    }
}

/// The evidence of one finding, over the pane.
fn render_evidence(
    frame: &mut Frame,
    area: Rect,
    f: &crate::findings::Finding,
    theme: &crate::ui::theme::Theme,
    scroll: &mut PopupScroll,
) {
    let mut lines = vec![
        (f.title.clone(), theme.header),
        (String::new(), ratatui::style::Style::default()),
    ];
    for e in &f.evidence {
        lines.push((format!("- {e}"), ratatui::style::Style::default()));
    }
    if let Some(r) = &f.remediation {
        lines.push((String::new(), ratatui::style::Style::default()));
        lines.push((format!("=> {r}"), theme.good));
    }
    if let Some(k) = &f.driver {
        lines.push((String::new(), ratatui::style::Style::default()));
        lines.push((
            format!("f focuses {k} in every pane; Esc closes"),
            theme.dim,
        ));
    }
    render_popup(frame, area, "Evidence", &lines, theme, scroll);
}

/// One load problem in full, over the pane.
fn render_problem(
    frame: &mut Frame,
    area: Rect,
    p: &crate::case::Problem,
    theme: &crate::ui::theme::Theme,
    scroll: &mut PopupScroll,
) {
    let lines = vec![
        (p.path.clone(), theme.header),
        (String::new(), ratatui::style::Style::default()),
        (p.message.clone(), ratatui::style::Style::default()),
        (String::new(), ratatui::style::Style::default()),
        ("Esc closes".to_string(), theme.dim),
    ];
    render_popup(frame, area, "Load problem", &lines, theme, scroll);
}

/// A bordered popup over the pane (one cell in from its edges).
fn render_popup(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: &[(String, ratatui::style::Style)],
    theme: &crate::ui::theme::Theme,
    scroll: &mut PopupScroll,
) {
    let rect = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    popup::render(frame, rect, title, lines, theme, scroll);
}
