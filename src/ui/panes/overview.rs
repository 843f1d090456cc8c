//! Overview: the case inventory (every file, its sniffed kind) and every load problem.

use crate::case::{Case, Kind};
use crate::driver::DriverKey;
use crate::findings::Severity;
use crate::ui::action::Outcome;
use crate::ui::pane::{Hint, Pane, PaneContext, hint};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Which list has the cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum List {
    /// The findings, first when the case has any.
    #[default]
    Findings,
    Files,
}

#[derive(Default)]
pub struct OverviewPane {
    cursor: Cursor,
    finding: Cursor,
    list: List,
    /// The evidence popup of the selected finding is open.
    detail: bool,
}

impl OverviewPane {
    pub fn new() -> OverviewPane {
        OverviewPane::default()
    }
}

/// The pane (index in the tab bar) that shows a kind of file.
pub fn pane_for(kind: Kind) -> Option<usize> {
    match kind {
        Kind::CrashDump | Kind::UserDump | Kind::Pdb => Some(1),
        Kind::ProcmonLog => Some(2),
        Kind::EventLog | Kind::Catalog | Kind::PeImage | Kind::SigcheckCsv | Kind::SigverifLog => {
            Some(3)
        }
        Kind::RegistryHive => Some(4),
        Kind::Unknown => None,
    }
}

fn human_size(n: u64) -> String {
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
        "Overview"
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
                Paragraph::new(lines).block(widgets::block("Overview", theme, true)),
                area,
            );
            return;
        };
        let files = ctx
            .case
            .inventory
            .as_ref()
            .map(|i| i.files.as_slice())
            .unwrap_or(&[]);
        let problems = &ctx.case.problems;
        let problem_rows = if problems.is_empty() {
            1
        } else {
            problems.len().min(4) as u16 + 1
        };
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
                let selected = self.list == List::Findings && i == self.finding.selected;
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
                    } else {
                        style
                    },
                ));
                if let Some(r) = &f.remediation {
                    flines.push(Line::styled(format!("  => {r}"), theme.dim));
                } else if let Some(e) = f.evidence.first() {
                    flines.push(Line::styled(format!("  {e}"), theme.dim));
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
                    self.list == List::Findings,
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
            true,
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
                let style = if self.list == List::Files && row == self.cursor.selected {
                    theme.selected
                } else if focused {
                    theme.focused_driver
                } else if f.kind == Kind::Unknown {
                    theme.dim
                } else {
                    theme.text
                };
                Line::styled(fit(&text, w), style)
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);

        let mut plines = Vec::new();
        if problems.is_empty() {
            plines.push(Line::styled("Everything in the case was read.", theme.good));
        } else {
            for p in problems.iter().take(4) {
                plines.push(Line::from(vec![
                    Span::styled(format!("{}: ", p.path), theme.bad),
                    Span::raw(p.message.clone()),
                ]));
            }
            if problems.len() > 6 {
                plines.push(Line::styled(
                    format!("... and {} more", problems.len() - 6),
                    theme.dim,
                ));
            }
        }
        let title = format!("Load problems ({})", problems.len());
        frame.render_widget(
            Paragraph::new(plines)
                .block(widgets::block(&title, theme, false))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            probs,
        );
        // The evidence popup goes over everything else.
        if self.detail
            && let Some(f) = ctx.case.findings.get(self.finding.selected)
        {
            render_evidence(frame, area, f, theme);
        }
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Outcome {
        let files = ctx
            .case
            .inventory
            .as_ref()
            .map(|i| i.files.as_slice())
            .unwrap_or(&[]);
        let findings = &ctx.case.findings;
        if self.detail {
            // The evidence popup takes Esc and Enter (close) and f (focus).
            return match key.code {
                KeyCode::Esc | KeyCode::Enter => {
                    self.detail = false;
                    Outcome::Consumed
                }
                KeyCode::Char('f') => self.focus_finding(ctx),
                _ => Outcome::Consumed,
            };
        }
        let list = if findings.is_empty() {
            List::Files
        } else {
            self.list
        };
        match key.code {
            KeyCode::Left | KeyCode::Right | KeyCode::Char('h') | KeyCode::Char('l')
                if !findings.is_empty() =>
            {
                self.list = if list == List::Files {
                    List::Findings
                } else {
                    List::Files
                };
                return Outcome::Consumed;
            }
            _ => {}
        }
        if list == List::Findings {
            if self.finding.handle(&key, findings.len()) {
                return Outcome::Consumed;
            }
            return match key.code {
                KeyCode::Enter => {
                    self.detail = true;
                    Outcome::Consumed
                }
                KeyCode::Char('f') => self.focus_finding(ctx),
                _ => Outcome::Ignored,
            };
        }
        if self.cursor.handle(&key, files.len()) {
            return Outcome::Consumed;
        }
        match key.code {
            KeyCode::Enter => match files
                .get(self.cursor.selected)
                .and_then(|f| pane_for(f.kind))
            {
                Some(p) => Outcome::GoTo(p),
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

    fn on_focus(&mut self, _focus: Option<&DriverKey>, _case: &Case) {}

    fn hints(&self) -> Vec<Hint> {
        vec![
            hint("j/k ↑/↓", "move"),
            hint("h/l ←/→", "findings / files"),
            hint("PgUp/PgDn", "page"),
            hint("g/G", "first/last row"),
            hint(
                "Enter",
                "a finding's evidence; a file: the pane that shows it",
            ),
            hint("f", "focus the driver of the finding or file"),
            hint("Esc", "close the evidence"),
        ]
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
) {
    let mut lines = vec![Line::styled(f.title.clone(), theme.header), Line::raw("")];
    for e in &f.evidence {
        lines.push(Line::raw(format!("- {e}")));
    }
    if let Some(r) = &f.remediation {
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!("=> {r}"), theme.good));
    }
    if let Some(k) = &f.driver {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("f focuses {k} in every pane; Esc closes"),
            theme.dim,
        ));
    }
    let popup = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(ratatui::widgets::Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(widgets::block("Evidence", theme, true))
            .wrap(ratatui::widgets::Wrap { trim: false }),
        popup,
    );
}
