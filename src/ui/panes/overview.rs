//! Overview: the findings, the case inventory (every file, its sniffed kind) and every load
//! problem, each a list with a cursor (h/l moves between them). `/` searches all three.

use crate::case::{Case, Kind};
use crate::driver::DriverKey;
use crate::findings::Severity;
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext, Yank};
use crate::ui::pane_id::PaneId;
use crate::ui::widgets::chooser::TableLayout;
use crate::ui::widgets::export::ViewTable;
use crate::ui::widgets::popup::{self, PopupScroll};
use crate::ui::widgets::search::{Jump, Search};
use crate::ui::widgets::table::{self, Column, DataTable, TableRow};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
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
    /// The clue picked in the evidence popup (h/l), whose row Enter opens in its pane.
    clue: Option<usize>,
    /// The list with the cursor takes the whole pane (`Z`).
    zoom: bool,
    /// The file table's wrap, columns and sideways scroll (`W`, `C`, `<`/`>`).
    files_layout: TableLayout,
    /// Findings and load problems shown whole, wrapped onto more lines (`W` there).
    wrap: bool,
}

impl OverviewPane {
    pub fn new() -> OverviewPane {
        OverviewPane::default()
    }

    /// The list that has the cursor (an empty list hands it to the files).
    pub fn list(&self, ctx: &PaneContext) -> List {
        match self.list {
            List::Findings if ctx.analysis.findings.is_empty() => List::Files,
            List::Problems if ctx.case.problems.is_empty() => List::Files,
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
    fn search_jump(&mut self, ctx: &PaneContext, how: Jump) -> Outcome {
        let (case, findings) = (ctx.case, &ctx.analysis.findings);
        let files = files_of(case);
        let (nf, nfiles) = (findings.len(), files.len());
        let cursor = match self.list(ctx) {
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
                    finding_matches(search, &findings[i])
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
                self.finding.center(i);
            } else if i < nf + nfiles {
                self.list = List::Files;
                self.cursor.center(i - nf);
            } else {
                self.list = List::Problems;
                self.problem.center(i - nf - nfiles);
            }
        }
        outcome
    }
}

/// The file table's columns in `width` columns: the path (as wide as the longest, leaving
/// the other columns 38), its kind, size and what was read of it.
fn file_columns(longest: usize, width: u16) -> Vec<Column> {
    let path_w = longest.min(usize::from(width).saturating_sub(38)).max(10);
    vec![
        Column::fixed("Path", u16::try_from(path_w).unwrap_or(u16::MAX)).path(),
        Column::fixed("Kind", 13).priority(3),
        Column::fixed("Size", 10).right().priority(2),
        Column::fill("Detail", 1).priority(1),
    ]
}

fn files_of(case: &Case) -> &[crate::case::CaseFile] {
    case.inventory
        .as_ref()
        .map(|i| i.files.as_slice())
        .unwrap_or(&[])
}

/// A finding's severity as a fixed-width word.
fn severity_tag(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRIT",
        Severity::Error => "ERR ",
        Severity::Warning => "WARN",
        Severity::Info => "INFO",
    }
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
        &crate::text::human_size(f.size),
        &f.detail,
    ])
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
        let active = self.list(ctx);
        let findings = &ctx.analysis.findings;
        // Each finding's lines: its title and its fix (or first clue), cut to the width, or
        // whole when wrapping (`W`).
        let fw = usize::from(area.width.saturating_sub(2));
        let wrap = self.wrap;
        let cut = |text: &str| -> Vec<String> {
            if wrap {
                popup::wrap_text(text, fw)
            } else {
                vec![fit(text, fw)]
            }
        };
        let finding_texts: Vec<(Vec<String>, Vec<String>)> = findings
            .iter()
            .enumerate()
            .map(|(i, f)| {
                // Severity in a word as well as a colour (palettes and NO_COLOR lose
                // colours). A marked finding (m) leads with the mark.
                let mark = if self.finding.mark == Some(i) {
                    "'"
                } else {
                    ""
                };
                let title = cut(&format!("{mark}{} {}", severity_tag(f.severity), f.title));
                let second = finding_line(f).map(|l| cut(&l)).unwrap_or_default();
                (title, second)
            })
            .collect();
        let heights: Vec<usize> = finding_texts
            .iter()
            .map(|(t, s)| t.len() + s.len())
            .collect();
        let finding_rows = if findings.is_empty() {
            1
        } else {
            let share = usize::from(if wrap {
                area.height / 2
            } else {
                area.height / 3
            });
            // Whole findings only: no blank line where half a finding would go.
            let mut used = 0;
            for h in &heights {
                if used > 0 && used + h > share {
                    break;
                }
                used += h;
            }
            u16::try_from(used.min(share)).unwrap_or(u16::MAX) + 2
        };
        // A line more for the BCD store's integrity settings, when the case has one.
        let head_rows = 3 + u16::from(!ctx.case.bcd.is_empty());
        // The load problems, one line each (whole when wrapping); none: the box's title line.
        // Wrapped, each problem's lines (one line each otherwise, drawn below).
        let problem_texts: Vec<Vec<String>> = if wrap {
            problems
                .iter()
                .map(|p| popup::wrap_text(&format!("{}: {}", p.path, p.message), fw))
                .collect()
        } else {
            Vec::new()
        };
        let problem_heights: Vec<usize> = if wrap {
            problem_texts.iter().map(Vec::len).collect()
        } else {
            vec![1; problems.len()]
        };
        let problem_rows = if problems.is_empty() {
            1
        } else {
            u16::try_from(problem_heights.iter().sum::<usize>())
                .unwrap_or(u16::MAX)
                .clamp(1, 4)
                + 2
        };
        let [head, found, list, probs] = Layout::vertical([
            Constraint::Length(head_rows),
            Constraint::Length(finding_rows),
            Constraint::Min(3),
            Constraint::Length(problem_rows),
        ])
        .areas(area);
        // Zoomed, the list with the cursor has the pane; the others are not drawn.
        let (head, found, list, probs) = if self.zoom {
            let none = Rect::default();
            match active {
                List::Findings => (none, area, none, none),
                List::Files => (none, none, area, none),
                List::Problems => (none, none, none, area),
            }
        } else {
            (head, found, list, probs)
        };
        if findings.is_empty() {
            let b = widgets::block("Findings (0): no rule matched this case", theme, false)
                .borders(ratatui::widgets::Borders::TOP);
            frame.render_widget(
                b,
                Rect {
                    height: found.height.min(1),
                    ..found
                },
            );
        } else {
            let mut flines = Vec::new();
            let rows = found.height.saturating_sub(2) as usize;
            let range = self.finding.window_tall(&heights, rows);
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
                let style = if selected {
                    theme.selected
                } else if focused {
                    theme.focused_driver
                } else if finding_matches(&self.search, f) {
                    theme.key
                } else {
                    style
                };
                let (title, second) = &finding_texts[i];
                flines.extend(title.iter().map(|l| Line::styled(l.clone(), style)));
                flines.extend(second.iter().map(|l| Line::styled(l.clone(), theme.dim)));
            }
            let title = format!(
                "Findings ({}): Enter evidence, f focus its driver",
                widgets::count_shown(findings.len(), range.clone(), theme.ascii)
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
        let mut head_lines = head_lines;
        // The crash history in a line (the History pane has the rows).
        let history = &ctx.analysis.history;
        if let Some(first) = history.first_crash().and_then(|c| c.time) {
            let n = history
                .crashes
                .iter()
                .filter(|c| c.kind != crate::history::CrashKind::UnexpectedShutdown)
                .count();
            let most = history
                .by_culprit
                .first()
                .or(history.by_bugcheck.first())
                .map(|c| format!(": {}", c.sentence()))
                .unwrap_or_default();
            head_lines.push(Line::from(vec![
                Span::styled("Crashes ", theme.header),
                Span::raw(format!(
                    "{n}, the first {}{most}",
                    crate::history::iso_utc(first)[..16].replace('T', " ")
                )),
            ]));
        }
        // The default boot entry's code-integrity settings, from the (first) BCD store.
        if let Some(b) = ctx.case.bcd.first() {
            let line = match b.store.integrity() {
                Some(i) => i.summary(),
                None => "BCD: no default boot entry".to_string(),
            };
            let weak = line.contains("OFF")
                || line.contains("testsigning on")
                || line.contains("safeboot");
            head_lines.push(Line::from(vec![
                Span::styled("Boot ", theme.header),
                Span::styled(
                    crate::escape::escape_field(&line).into_owned(),
                    if weak { theme.warn } else { theme.text },
                ),
            ]));
        }
        frame.render_widget(Paragraph::new(head_lines), head);

        let source = table::rows(files.len(), |row, rc| {
            let f = files.get(row)?;
            let focused = ctx
                .focus
                .is_some_and(|k| k.matches_path(&f.path.replace('/', "\\")));
            let style = if active == List::Files && rc.selected {
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
            Some(TableRow::new(
                vec![
                    f.path.as_str().into(),
                    f.kind.as_str().into(),
                    crate::text::human_size(f.size).into(),
                    f.detail.as_str().into(),
                ],
                style,
            ))
        });
        let longest = files
            .iter()
            .map(|f| table::display_width(&f.path))
            .max()
            .unwrap_or(4);
        let columns = file_columns(longest, list.width.saturating_sub(2));
        let mut cursor = self.cursor;
        widgets::TableBox::new("Files", files.len(), "the case folder holds no file")
            .after(": Enter opens the pane that shows a file")
            .active(active == List::Files)
            .table(
                frame,
                list,
                theme,
                DataTable::new(&columns).view(&self.files_layout.view),
                &mut cursor,
                &source,
            );
        self.cursor = cursor;
        self.files_layout.drawn(&columns);

        // One line a problem (Enter shows it whole; `W` wraps them all), scrolled to keep the
        // cursor in view; none, and the box is its title line.
        if problems.is_empty() {
            let b = widgets::block(
                "Load problems (0): everything in the case was read",
                theme,
                false,
            )
            .borders(ratatui::widgets::Borders::TOP);
            frame.render_widget(
                b,
                Rect {
                    height: probs.height.min(1),
                    ..probs
                },
            );
        } else {
            let inner = widgets::block("", theme, false).inner(probs);
            let range = if wrap {
                self.problem
                    .window_tall(&problem_heights, inner.height as usize)
            } else {
                self.problem.window(problems.len(), inner.height as usize)
            };
            let title = format!(
                "Load problems ({}): Enter shows one",
                widgets::count_shown(problems.len(), range.clone(), theme.ascii)
            );
            let block = widgets::block(&title, theme, active == List::Problems);
            frame.render_widget(block, probs);
            let mut plines = Vec::new();
            let w = inner.width as usize;
            for (i, p) in problems
                .iter()
                .enumerate()
                .skip(range.start)
                .take(range.len())
            {
                let selected = active == List::Problems && i == self.problem.selected;
                let matched = self.search.matches_any([p.path.as_str(), &p.message]);
                if wrap {
                    let style = if selected {
                        theme.selected
                    } else if matched {
                        theme.key
                    } else {
                        theme.text
                    };
                    plines.extend(
                        problem_texts[i]
                            .iter()
                            .map(|l| Line::styled(l.clone(), style)),
                    );
                    continue;
                }
                let path = fit(&format!("{}: ", p.path), w);
                let message = fit(&p.message, w.saturating_sub(path.chars().count()));
                plines.push(if selected {
                    Line::styled(format!("{path}{message}"), theme.selected)
                } else if matched {
                    Line::styled(format!("{path}{message}"), theme.key)
                } else {
                    Line::from(vec![Span::styled(path, theme.bad), Span::raw(message)])
                });
            }
            frame.render_widget(Paragraph::new(plines), inner);
            widgets::cursor::draw_mark(frame, inner, &self.problem, problems.len());
        }
        self.search.render(frame, search_area, theme);
        self.files_layout.render_chooser(frame, area, theme);
        // The popup goes over everything else.
        if self.detail {
            match active {
                List::Findings => {
                    if let Some(f) = ctx.analysis.findings.get(self.finding.selected) {
                        let shown = Shown {
                            clue: self.clue,
                            inventory: ctx.case.inventory.as_ref(),
                        };
                        render_evidence(frame, area, f, shown, theme, &mut self.popup);
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

    fn edit_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Option<Outcome> {
        if let Some(o) = self.files_layout.key(key) {
            return Some(o);
        }
        let jump = self.search.edit_open(key)?.then_some(Jump::First);
        Some(jump.map_or(Outcome::Consumed, |j| self.search_jump(ctx, j)))
    }

    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome {
        use PaneAction as A;
        let files = files_of(ctx.case);
        let findings = &ctx.analysis.findings;
        let list = self.list(ctx);
        if action == A::WriteReport {
            return Outcome::Message(crate::ui::app::write_report_message(ctx.case, ctx.analysis));
        }
        if self.detail {
            // The popup takes the scroll keys, Enter and Esc (close) and, over a finding, f
            // (focus). The render clamps the scroll to the text.
            let clues = findings
                .get(self.finding.selected)
                .filter(|_| list == List::Findings)
                .map(|f| f.evidence.as_slice())
                .unwrap_or_default();
            // The clues that point at a row of an artefact.
            let linked: Vec<usize> = (0..clues.len())
                .filter(|&i| clues[i].source.is_some())
                .collect();
            match action {
                // Enter on a picked clue opens its row (the popup stays for Back).
                A::Details if self.clue.is_some() => {
                    return match self.clue.and_then(|i| clues.get(i)?.source.clone()) {
                        Some(src) => Outcome::Reveal(src),
                        None => Outcome::Consumed,
                    };
                }
                A::NextBox | A::PrevBox if linked.is_empty() => {
                    return Outcome::Message("no clue of this finding points at a row".into());
                }
                A::NextBox => {
                    self.clue = Some(match self.clue {
                        Some(c) => *linked.iter().find(|&&i| i > c).unwrap_or(&linked[0]),
                        None => linked[0],
                    });
                }
                A::PrevBox => {
                    let last = linked[linked.len() - 1];
                    self.clue = Some(match self.clue {
                        Some(c) => *linked.iter().rev().find(|&&i| i < c).unwrap_or(&last),
                        None => last,
                    });
                }
                A::Close | A::Details => self.detail = false,
                A::Focus if list == List::Findings => return self.focus_finding(ctx),
                a => {
                    self.popup.act(a);
                }
            }
            return Outcome::Consumed;
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
        let n = lists.len();
        match action {
            A::Zoom => {
                self.zoom = !self.zoom;
                return Outcome::Consumed;
            }
            // The files are a table; the findings and load problems are text, which wraps.
            A::Wrap | A::Columns | A::ColumnsLeft | A::ColumnsRight if list == List::Files => {
                return self.files_layout.act(action).unwrap_or(Outcome::Ignored);
            }
            A::Wrap => {
                self.wrap = !self.wrap;
                return Outcome::Message(
                    if self.wrap {
                        "findings and load problems show whole"
                    } else {
                        "findings and load problems take a line each"
                    }
                    .into(),
                );
            }
            A::Columns | A::ColumnsLeft | A::ColumnsRight => {
                return Outcome::Message(
                    "this list has no columns: W wraps it, Enter shows one whole".into(),
                );
            }
            A::NextBox | A::PrevBox if n < 2 => {
                return Outcome::Message("this case has one list here".into());
            }
            A::NextBox => {
                self.list = lists[(at + 1) % n];
                return Outcome::Consumed;
            }
            A::PrevBox => {
                self.list = lists[(at + n - 1) % n];
                return Outcome::Consumed;
            }
            A::Search if ctx.case.root.is_some() => {
                self.search.open("Search findings, files and load problems");
                return Outcome::Consumed;
            }
            A::Search => return Outcome::Message("no case is open".into()),
            A::NextMatch => return self.search_jump(ctx, Jump::Next),
            A::PrevMatch => return self.search_jump(ctx, Jump::Prev),
            A::Close => return Outcome::Ignored,
            _ => {}
        }
        match list {
            List::Findings => {
                if self.finding.act(action, findings.len()) {
                    return Outcome::Consumed;
                }
                match action {
                    A::Details => self.open_detail(),
                    A::Focus => self.focus_finding(ctx),
                    _ => Outcome::Ignored,
                }
            }
            List::Problems => {
                if self.problem.act(action, ctx.case.problems.len()) {
                    return Outcome::Consumed;
                }
                match action {
                    A::Details => self.open_detail(),
                    A::Focus => Outcome::Message("a load problem is about no single driver".into()),
                    _ => Outcome::Ignored,
                }
            }
            List::Files => {
                if self.cursor.act(action, files.len()) {
                    return Outcome::Consumed;
                }
                match action {
                    // A file's details are the pane that reads it.
                    A::Details => match files
                        .get(self.cursor.selected)
                        .and_then(|f| PaneId::for_file(f.kind))
                    {
                        Some(p) => Outcome::GoTo(p.index()),
                        None => Outcome::Message("no pane shows this kind of file".into()),
                    },
                    A::Focus => match files.get(self.cursor.selected) {
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

    fn on_focus(&mut self, _ctx: &PaneContext) {}

    fn captures_input(&self) -> bool {
        self.search.is_open() || self.files_layout.is_open()
    }

    /// The findings: severity, title, driver, evidence (one clue a line), fix.
    fn table(&self, ctx: &PaneContext) -> Option<ViewTable> {
        let mut t = ViewTable::new(&["Severity", "Finding", "Driver", "Evidence", "Fix"]);
        t.rows = ctx
            .analysis
            .findings
            .iter()
            .map(|f| {
                vec![
                    format!("{:?}", f.severity),
                    f.title.clone(),
                    f.driver.as_ref().map(|d| d.to_string()).unwrap_or_default(),
                    f.evidence.join("\n"),
                    f.remediation.clone().unwrap_or_default(),
                ]
            })
            .collect();
        Some(t)
    }

    /// `y`: the selected finding's fix (else the finding), file path or load problem; `Y`:
    /// every finding as `bsodwb analyze` prints them, then the load problems.
    fn cursor_mut(&mut self) -> Option<&mut Cursor> {
        Some(match self.list {
            List::Findings => &mut self.finding,
            List::Files => &mut self.cursor,
            List::Problems => &mut self.problem,
        })
    }

    /// A finding with every clue (each naming its artefact) and the fix; a file with its
    /// path; a load problem with its file.
    fn note(&self, ctx: &PaneContext) -> Option<crate::ui::pane::NoteEntry> {
        use crate::ui::pane::NoteEntry;
        Some(match self.list(ctx) {
            List::Findings => {
                let f = ctx.analysis.findings.get(self.finding.selected)?;
                NoteEntry {
                    text: f.to_text(),
                    source: format!("finding {}: {}", self.finding.selected + 1, f.title),
                }
            }
            List::Files => {
                let f = files_of(ctx.case).get(self.cursor.selected)?.clone();
                NoteEntry {
                    text: format!(
                        "- {} ({}, {} bytes): {}",
                        f.path,
                        f.kind.as_str(),
                        f.size,
                        f.detail
                    ),
                    source: f.path.clone(),
                }
            }
            List::Problems => {
                let p = ctx.case.problems.get(self.problem.selected)?;
                NoteEntry {
                    text: p.message.clone(),
                    source: format!("load problem: {}", p.path),
                }
            }
        })
    }

    fn yank(&self, ctx: &PaneContext, whole: bool) -> Option<Yank> {
        let findings = &ctx.analysis.findings;
        if whole {
            let mut text: String = findings.iter().map(|f| f.to_text() + "\n").collect();
            for p in &ctx.case.problems {
                text.push_str(&format!("problem: {}: {}\n", p.path, p.message));
            }
            return Some(Yank {
                what: "findings",
                text,
            });
        }
        Some(match self.list(ctx) {
            List::Findings => {
                let f = findings.get(self.finding.selected)?;
                match &f.remediation {
                    Some(fix) => Yank {
                        what: "the fix",
                        text: fix.clone(),
                    },
                    None => Yank {
                        what: "the finding",
                        text: f.to_text(),
                    },
                }
            }
            List::Files => Yank {
                what: "the path",
                text: files_of(ctx.case).get(self.cursor.selected)?.path.clone(),
            },
            List::Problems => {
                let p = ctx.case.problems.get(self.problem.selected)?;
                Yank {
                    what: "the problem",
                    text: format!("{}: {}", p.path, p.message),
                }
            }
        })
    }
}

impl OverviewPane {
    /// Enter: the selected finding's evidence, or the whole load problem, over the pane.
    fn open_detail(&mut self) -> Outcome {
        self.detail = true;
        self.clue = None;
        self.popup = PopupScroll::default();
        Outcome::Consumed
    }

    fn focus_finding(&self, ctx: &PaneContext) -> Outcome {
        match ctx
            .analysis
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
/// What the evidence popup shows beside the finding: the picked clue, and the case's files
/// (to show paths relative to the case).
struct Shown<'a> {
    clue: Option<usize>,
    inventory: Option<&'a crate::case::Inventory>,
}

fn render_evidence(
    frame: &mut Frame,
    area: Rect,
    f: &crate::findings::Finding,
    shown: Shown,
    theme: &crate::ui::theme::Theme,
    scroll: &mut PopupScroll,
) {
    let mut lines = vec![
        (f.title.clone(), theme.header),
        (String::new(), ratatui::style::Style::default()),
    ];
    // A clue that points at a row leads with an arrow; the picked one is selected.
    let arrow = if theme.ascii { ">" } else { "→" };
    for (i, e) in f.evidence.iter().enumerate() {
        let lead = if e.source.is_some() { arrow } else { "-" };
        let style = if shown.clue == Some(i) {
            theme.selected
        } else {
            ratatui::style::Style::default()
        };
        // Paths as the case names them, not where this machine keeps it.
        let text = match shown.inventory {
            Some(inv) => inv.shorten(e),
            None => e.to_string(),
        };
        lines.push((format!("{lead} {text}"), style));
    }
    if let Some(r) = &f.remediation {
        lines.push((String::new(), ratatui::style::Style::default()));
        lines.push((format!("=> {r}"), theme.good));
    }
    if let Some(r) = &f.remediation_winre {
        lines.push((format!("=> from WinRE: {r}"), theme.good));
    }
    if let Some(rule) = f.rule.and_then(crate::findings::catalogue::rule) {
        let weight = match rule.weight {
            crate::findings::Weight::Proves => "proves",
            crate::findings::Weight::Suggests => "suggests (may)",
        };
        lines.push((
            format!(
                "rule {} ({}, {weight}): {}",
                rule.id, rule.family, rule.source
            ),
            theme.dim,
        ));
    }
    if let Some(k) = &f.driver {
        lines.push((String::new(), ratatui::style::Style::default()));
        lines.push((
            format!("f focuses {k} in every pane; Esc closes"),
            theme.dim,
        ));
    }
    if f.evidence.iter().any(|e| e.source.is_some()) {
        lines.push((
            format!("h/l pick a clue marked {arrow}, Enter opens its row, Backspace returns"),
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
