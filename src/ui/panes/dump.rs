//! Dump: the bug check and what its parameters mean on top, then the stack (STACK_TEXT) and the
//! module list. Enter on a frame or module opens its details (and the disassembly around the
//! address where the dump holds the bytes); `f` focuses its driver; the focused driver's frames
//! and module row are highlighted.

use crate::analysis::{ModuleFacts, module_facts, module_version};
use crate::bugcheck::BugcheckInfo;
use crate::case::{Case, DumpArtefact};
use crate::driver::DriverKey;
use crate::dump::analysis::Analysis;
use crate::dump::analysis::{Frame as StackFrame, FrameMethod, disassemble_named};
use crate::dump::{CrashDump, Module, filetime_to_string, report};
use crate::symbols::fetch::{self, WorkerMsg};
use crate::symbols::server::Stage;
use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext, Yank};
use crate::ui::pane_id::PaneId;
use crate::ui::theme::Theme;
use crate::ui::widgets::popup::{Detail, PopupScroll};
use crate::ui::widgets::search::{Jump, Search};
use crate::ui::widgets::table::{self, Column, DataTable, TableCell, TableRow};
use crate::ui::widgets::{self, cursor::Cursor, fit};
use crossbeam_channel::{Receiver, TryRecvError};
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::collections::HashMap;
use std::sync::Arc;

/// Which list has the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum List {
    Stack,
    Modules,
}

/// Module table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sort {
    /// As the dump lists them (load order).
    Load,
    Name,
    Base,
    Size,
    Timestamp,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Load => Sort::Name,
            Sort::Name => Sort::Base,
            Sort::Base => Sort::Size,
            Sort::Size => Sort::Timestamp,
            Sort::Timestamp => Sort::Load,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Sort::Load => "load order",
            Sort::Name => "name",
            Sort::Base => "base",
            Sort::Size => "size",
            Sort::Timestamp => "timestamp",
        }
    }
}

/// Module facts built for (dump index, analysis refreshed with symbols).
type FactsCache = ((usize, bool), Arc<Vec<ModuleFacts>>);

pub struct DumpPane {
    /// Which of the case's dumps is shown (`d` cycles).
    dump: usize,
    list: List,
    /// The list with the cursor (stack or modules) takes the whole pane (`Z`).
    zoom: bool,
    /// The module table's wrap, columns and sideways scroll (`W`, `C`, `<`/`>`).
    module_layout: crate::ui::widgets::chooser::TableLayout,
    /// The stack table's, the same keys.
    stack_layout: crate::ui::widgets::chooser::TableLayout,
    stack: Cursor,
    modules: Cursor,
    sort: Sort,
    descending: bool,
    /// The details popup is open.
    detail: bool,
    /// The details popup's scroll.
    detail_scroll: PopupScroll,
    /// Cached bug-check explanation: (dump index, info).
    info: Option<(usize, Option<BugcheckInfo>)>,
    /// `/` over the stack, then the module list.
    search: Search,
    /// Analyses redone with downloaded symbols, by dump index (they replace the case's).
    refreshed: HashMap<usize, Arc<Analysis>>,
    /// The symbol-download worker (a `srv*` symbol path only).
    downloads: Option<Receiver<WorkerMsg>>,
    /// One line about symbols: download progress, its outcome, or the symbol path that would
    /// name the frames.
    symbol_line: Option<String>,
    /// What the module list shows beside each module (date, version, company, frames on the
    /// stack), by dump index and whether a refreshed analysis was used; built on first draw.
    facts: Option<FactsCache>,
    /// Module time stamps raw (hex) rather than as dates.
    raw_times: bool,
    /// A module's `lmvm` view (Enter on the module list).
    module_detail: Option<Detail>,
}

impl Default for DumpPane {
    fn default() -> Self {
        DumpPane::new()
    }
}

impl DumpPane {
    pub fn new() -> DumpPane {
        DumpPane {
            module_layout: Default::default(),
            stack_layout: Default::default(),
            zoom: false,
            dump: 0,
            list: List::Stack,
            stack: Cursor::default(),
            modules: Cursor::default(),
            sort: Sort::Load,
            descending: false,
            detail: false,
            detail_scroll: PopupScroll::default(),
            info: None,
            search: Search::default(),
            refreshed: HashMap::new(),
            downloads: None,
            symbol_line: None,
            facts: None,
            raw_times: false,
            module_detail: None,
        }
    }

    /// The pane for `case`. With a symbol server in the symbol path (`_NT_SYMBOL_PATH`, or the
    /// config file), a worker downloads what the stacks need and the dumps are analysed again;
    /// without one, when frames have no names, the pane says which path would name them.
    pub fn from_case(case: &Case) -> DumpPane {
        DumpPane::with_symbols(
            case,
            crate::symbols::SymbolPath::from_env(),
            crate::symbols::config::SymbolsConfig::load().options(),
        )
    }

    /// As [`DumpPane::from_case`], with the symbol path and client options given.
    pub fn with_symbols(
        case: &Case,
        path: crate::symbols::SymbolPath,
        options: crate::symbols::server::ServerOptions,
    ) -> DumpPane {
        let mut pane = DumpPane::new();
        // With a server, every dump with a stack (frames named from exports only get their
        // PDBs too); without one, only unnamed frames matter.
        let with_server = !path.urls().is_empty();
        let unnamed: Vec<(usize, std::path::PathBuf)> = case
            .dumps
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                if with_server {
                    !a.analysis.stack.is_empty()
                } else {
                    fetch::unnamed_frames(&a.analysis) > 0
                }
            })
            .map(|(i, a)| (i, a.dump.path.clone()))
            .collect();
        if unnamed.is_empty() {
            return pane;
        }
        if !with_server {
            let n = case
                .dumps
                .first()
                .map_or(0, |a| fetch::unnamed_frames(&a.analysis));
            if n > 0 {
                pane.symbol_line = Some(format!(
                    "_NT_SYMBOL_PATH={} would name {n} frame(s)",
                    crate::symbols::server::suggested_path()
                ));
            }
            return pane;
        }
        let folders: Vec<std::path::PathBuf> = case.root.iter().cloned().collect();
        match fetch::spawn_worker(unnamed, path, folders, options) {
            Ok(rx) => {
                pane.downloads = Some(rx);
                pane.symbol_line = Some("symbols: asking the symbol servers".into());
            }
            Err(e) => pane.symbol_line = Some(format!("symbols: cannot start the download: {e}")),
        }
        pane
    }

    /// The analysis shown for the current dump: redone with downloaded symbols, else the case's.
    fn refreshed(&self) -> Option<Arc<Analysis>> {
        self.refreshed.get(&self.dump).cloned()
    }

    fn artefact<'c>(&self, case: &'c Case) -> Option<&'c DumpArtefact> {
        case.dumps.get(self.dump).or_else(|| case.dumps.first())
    }

    fn info(&mut self, a: &DumpArtefact) -> Option<BugcheckInfo> {
        match &self.info {
            Some((i, info)) if *i == self.dump => info.clone(),
            _ => {
                let info = report::bugcheck_info(&a.dump);
                self.info = Some((self.dump, info.clone()));
                info
            }
        }
    }

    /// Module indexes in the current order.
    fn module_order(&self, dump: &CrashDump) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..dump.modules.len()).collect();
        let m = &dump.modules;
        match self.sort {
            Sort::Load => {}
            Sort::Name => idx.sort_by_key(|&i| m[i].name.to_ascii_lowercase()),
            Sort::Base => idx.sort_by_key(|&i| m[i].base),
            Sort::Size => idx.sort_by_key(|&i| m[i].size),
            Sort::Timestamp => idx.sort_by_key(|&i| m[i].timestamp),
        }
        if self.descending {
            idx.reverse();
        }
        idx
    }

    fn selected_module<'d>(&self, dump: &'d CrashDump) -> Option<&'d Module> {
        let order = self.module_order(dump);
        order
            .get(self.modules.selected)
            .and_then(|&i| dump.modules.get(i))
    }

    fn selected_frame(&self, a: &DumpArtefact) -> Option<StackFrame> {
        let over = self.refreshed();
        let an = over.as_deref().unwrap_or(&a.analysis);
        an.stack.get(self.stack.selected).cloned()
    }

    /// A frame matches on what its row shows (call site, addresses, arguments) or its
    /// module's path.
    fn frame_matches(&self, f: &StackFrame, faulting: bool) -> bool {
        self.search.matches_any([
            frame_text(f, faulting, true).as_str(),
            f.module.as_deref().unwrap_or(""),
        ])
    }

    /// The module facts of the dump shown, built once per dump (and analysis).
    fn facts(&mut self, case: &Case) -> Arc<Vec<ModuleFacts>> {
        let key = (self.dump, self.refreshed.contains_key(&self.dump));
        if let Some((k, f)) = &self.facts
            && *k == key
        {
            return Arc::clone(f);
        }
        let over = self.refreshed();
        let facts = Arc::new(match self.artefact(case) {
            Some(a) => module_facts(case, &a.dump, over.as_deref().unwrap_or(&a.analysis)),
            None => Vec::new(),
        });
        self.facts = Some((key, Arc::clone(&facts)));
        facts
    }

    /// The facts of module `i` (in the dump's order), once built.
    fn fact(&self, i: usize) -> Option<&ModuleFacts> {
        self.facts.as_ref().and_then(|(_, f)| f.get(i))
    }

    /// A module matches on what its rows show: name, path, base and end, time stamp, date,
    /// checksum, size, version, company.
    fn module_matches(&self, m: &Module, i: usize, faulting: bool) -> bool {
        let f = self.fact(i);
        self.search.matches_any([
            m.name.as_str(),
            module_text(m, f, faulting, true, false).as_str(),
            module_text(m, f, faulting, false, true).as_str(),
        ])
    }

    /// Move to a match: the stack rows, then the module rows in their current order.
    fn search_jump(&mut self, a: &DumpArtefact, how: Jump) -> Outcome {
        let over = self.refreshed();
        let an = over.as_deref().unwrap_or(&a.analysis);
        let stack = &an.stack;
        let order = self.module_order(&a.dump);
        let faulting_module = an.faulting_module.as_deref();
        let cursor = match self.list {
            List::Stack => self.stack.selected,
            List::Modules => stack.len() + self.modules.selected,
        };
        let (to, outcome) = self.search.jump(
            stack.len() + order.len(),
            cursor,
            how,
            "frame or module",
            |i| match stack.get(i) {
                Some(f) => self.frame_matches(f, an.faulting_frame == Some(f.index)),
                None => order.get(i - stack.len()).is_some_and(|&mi| {
                    a.dump.modules.get(mi).is_some_and(|m| {
                        self.module_matches(m, mi, faulting_module == Some(m.name.as_str()))
                    })
                }),
            },
        );
        if let Some(i) = to {
            if i < stack.len() {
                self.list = List::Stack;
                self.stack.center(i);
            } else {
                self.list = List::Modules;
                self.modules.center(i - stack.len());
            }
        }
        outcome
    }
}

/// A stack row as the wide table shows it (the narrow one drops the return address and args).
/// How the unwinder found a frame, when it is worth saying: ` (scan)`, ` (ebp?)`, a trap
/// frame (with its address when `wide`).
fn frame_mark(f: &StackFrame, wide: bool) -> String {
    if let Some(t) = f.trap_frame_address.filter(|_| wide) {
        return format!(" (TrapFrame @ {:08x}`{:08x})", t >> 32, t & 0xffff_ffff);
    }
    match (f.method, f.verified, f.trap_frame) {
        (FrameMethod::Scan, true, _) => " (scan)",
        (FrameMethod::Scan, false, _) => " (scan?)",
        (FrameMethod::FramePointer, false, _) => " (ebp?)",
        (FrameMethod::Trap, _, false) => " (trap)",
        (_, _, true) => " (TrapFrame)",
        _ => "",
    }
    .to_string()
}

/// A frame's arguments as WinDbg's STACK_TEXT prints them (`?` for one not read).
fn frame_args(f: &StackFrame) -> String {
    let args: Vec<String> = f
        .args
        .iter()
        .map(|a| a.map_or_else(|| "?".repeat(16), hex))
        .collect();
    args.join(" ")
}

/// A frame as one line of text (what `/` searches and `y` copies): WinDbg's STACK_TEXT line
/// when `wide`, the index, Child-SP and call site otherwise. `*` marks the faulting frame.
fn frame_text(f: &StackFrame, faulting: bool, wide: bool) -> String {
    let mark = frame_mark(f, wide);
    let star = if faulting { "*" } else { " " };
    if wide {
        format!(
            "{star}{:02} {} {} : {} : {}{mark}",
            f.index,
            hex(f.child_sp),
            hex(f.return_address),
            frame_args(f),
            f.call_site
        )
    } else {
        format!(
            "{star}{:02} {} {}{mark}",
            f.index,
            hex(f.child_sp),
            f.call_site
        )
    }
}

/// The stack table's columns, WinDbg's STACK_TEXT split into cells: the frame number (`*`
/// for the faulting frame), Child-SP, RetAddr, the four arguments and the call site (with
/// how the frame was found). The call site is never dropped; the arguments go first, then
/// RetAddr, then Child-SP, and `<`/`>` bring them back.
fn stack_columns() -> Vec<Column> {
    vec![
        Column::fixed("#", 3),
        Column::fixed("Child-SP", 16).priority(3),
        Column::fixed("RetAddr", 16).priority(2),
        Column::fixed("Args to Child", 67).priority(1).short("Args"),
        Column::min("Call Site", 44),
    ]
}

/// A frame's cells, in [`stack_columns`]' order.
fn frame_cells(f: &StackFrame, faulting: bool, wide: bool) -> Vec<TableCell> {
    let star = if faulting { "*" } else { " " };
    vec![
        format!("{star}{:02}", f.index).into(),
        hex(f.child_sp).into(),
        hex(f.return_address).into(),
        frame_args(f).into(),
        format!("{}{}", f.call_site, frame_mark(f, wide)).into(),
    ]
}

/// The module table's columns: base, name, the stack and vendor marks, the date (or raw time
/// stamp), then when wide the end, checksum, version, company and path; when narrow the
/// size. The `*` of the faulting module leads its base.
fn module_columns(wide: bool) -> Vec<Column> {
    if wide {
        vec![
            Column::fixed("Base", 17),
            Column::fixed("End", 16).priority(4),
            Column::fixed("Module", 22),
            Column::fixed("Stk", 3),
            Column::fixed("3rd", 3),
            Column::fixed("Date", 10),
            Column::fixed("CheckSum", 8).priority(5),
            Column::fixed("Version", 16).priority(2),
            Column::fixed("Company", 22).priority(3),
            Column::fill("Path", 1).path().priority(1),
        ]
    } else {
        vec![
            Column::fixed("Base", 17),
            Column::fixed("Module", 16),
            Column::fixed("Stk", 3),
            Column::fixed("3rd", 3),
            Column::fixed("Date", 10).priority(1),
            Column::fixed("Size", 7).right().priority(3),
            Column::fill("Version", 1).priority(2),
        ]
    }
}

/// A module row's cells as one line of text (what `/` searches and `y` copies).
fn module_text(
    m: &Module,
    facts: Option<&ModuleFacts>,
    faulting: bool,
    wide: bool,
    raw: bool,
) -> String {
    let cells: Vec<String> = module_cells(m, facts, faulting, wide, raw)
        .into_iter()
        .map(|c| c.text)
        .collect();
    cells.join(" ")
}

/// A module row's cells for [`module_columns`]: `Stk` holds the frames the stack has in the
/// module (BlueScreenView's mark), `3rd` says `yes` for a module that is not Microsoft's (by
/// its CompanyName or the chain that vouches for its file; blank when the case cannot tell).
fn module_cells(
    m: &Module,
    facts: Option<&ModuleFacts>,
    faulting: bool,
    wide: bool,
    raw: bool,
) -> Vec<TableCell> {
    let star = if faulting { "*" } else { " " };
    let base = format!("{star}{}", hex(m.base));
    let frames = facts.map_or(0, |f| f.frames);
    let stack = if frames > 0 {
        frames.to_string()
    } else {
        String::new()
    };
    let third = match facts.and_then(|f| f.microsoft) {
        Some(false) => "yes",
        _ => "",
    };
    let date = if raw {
        format!("{:08x}", m.timestamp)
    } else {
        facts.map_or_else(|| format!("{:08x}", m.timestamp), |f| f.date.clone())
    };
    let version = facts
        .and_then(|f| f.version.as_ref())
        .and_then(|v| v.file_version.clone())
        .unwrap_or_default();
    let company = facts
        .and_then(|f| f.version.as_ref())
        .and_then(|v| v.company.clone())
        .unwrap_or_default();
    if wide {
        vec![
            base.into(),
            hex(m.base.wrapping_add(u64::from(m.size))).into(),
            m.name.as_str().into(),
            stack.into(),
            third.into(),
            date.into(),
            format!("{:08x}", m.checksum).into(),
            version.into(),
            company.into(),
            m.path.as_str().into(),
        ]
    } else {
        vec![
            base.into(),
            m.name.as_str().into(),
            stack.into(),
            third.into(),
            date.into(),
            format!("{:x}", m.size).into(),
            version.into(),
        ]
    }
}

fn frame_key(dump: &CrashDump, f: &StackFrame) -> Option<DriverKey> {
    dump.module_at(f.ip).and_then(Module::key)
}

fn hex(v: u64) -> String {
    format!("{v:016x}")
}

impl Pane for DumpPane {
    fn title(&self) -> &'static str {
        crate::ui::pane_id::PaneId::Dump.title()
    }

    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        let theme = ctx.theme;
        let Some(a) = self.artefact(ctx.case) else {
            widgets::missing(
                frame,
                area,
                PaneId::Dump.title(),
                &[
                    "MEMORY.DMP (a kernel or complete memory dump)",
                    "Minidump\\*.dmp (a small memory dump)",
                ],
                theme,
            );
            return;
        };
        let (area, search_area) = self.search.split(area);
        let info = self.info(a);
        let d = &a.dump;
        let over = self.refreshed();
        let an = over.as_deref().unwrap_or(&a.analysis);
        let tall = area.height >= 40;
        let top_h = if info.is_some() { 8 } else { 3 };
        let summary_h = if tall { 3 } else { 2 };
        // The stack and module boxes sized to what they hold (frames or modules, the
        // borders, the symbol line): a short stack leaves its rows to the modules.
        let rest = area.height.saturating_sub(top_h + summary_h);
        let need = widgets::table_box_need;
        let (stack_h, _) = widgets::share_rows(
            rest,
            need(an.stack.len(), u16::from(self.symbol_line.is_some())),
            need(d.modules.len(), 0),
        );
        let [top, summary, stack_area, module_area] = Layout::vertical([
            Constraint::Length(top_h),
            Constraint::Length(summary_h),
            Constraint::Length(stack_h),
            Constraint::Fill(1),
        ])
        .areas(area);
        // Zoomed, the list with the cursor has the pane; the others are not drawn.
        let (top, summary, stack_area, module_area) = if self.zoom {
            let none = Rect::default();
            match self.list {
                List::Stack => (none, none, area, none),
                List::Modules => (none, none, none, area),
            }
        } else {
            (top, summary, stack_area, module_area)
        };

        // The bug check and its parameters.
        let w = top.width.saturating_sub(2) as usize;
        let mut lines = Vec::new();
        let title = if ctx.case.dumps.len() > 1 {
            format!(
                "Dump {} of {} ({}, d: next)",
                self.dump + 1,
                ctx.case.dumps.len(),
                a.file
            )
        } else {
            format!("Dump ({})", a.file)
        };
        match &info {
            Some(i) => {
                lines.push(Line::from(vec![Span::styled(
                    fit(
                        &format!("{} ({:#x})", i.name.unwrap_or("UNKNOWN_BUGCHECK"), i.code),
                        w,
                    ),
                    theme.bad,
                )]));
                for (n, p) in i.params.iter().enumerate() {
                    let decoded = p
                        .decoded
                        .as_deref()
                        .map_or(String::new(), |s| format!("{s}  "));
                    let text = format!(
                        "P{} {:016x}  {decoded}{}",
                        n + 1,
                        p.value,
                        p.meaning.unwrap_or("")
                    );
                    let style = if p.decoded.is_some() {
                        theme.text
                    } else {
                        theme.dim
                    };
                    lines.push(Line::styled(fit(&text, w), style));
                }
                if let Some(h) = &i.hint {
                    let lead = match PaneId::showing(h.look_at) {
                        PaneId::Dump => String::new(),
                        p => format!(
                            "{}: {} pane  ",
                            crate::ui::keymap::current()
                                .pane_label(PaneId::Dump, PaneAction::BugCheckPane),
                            p.title()
                        ),
                    };
                    lines.push(Line::from(vec![
                        Span::styled(lead, theme.key),
                        Span::styled(fit(h.text, w), theme.warn),
                    ]));
                }
            }
            None => lines.push(Line::styled(
                fit(
                    &format!(
                        "User-mode dump: {} exception {:#x}",
                        d.process_name.as_deref().unwrap_or("?"),
                        d.exception.as_ref().map_or(0, |e| e.code)
                    ),
                    w,
                ),
                theme.bad,
            )),
        }
        frame.render_widget(
            Paragraph::new(lines).block(widgets::block(&title, theme, false)),
            top,
        );

        // One or two summary lines.
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".to_string());
        let when = d
            .system_time
            .map(|t| filetime_to_string(t).chars().take(19).collect::<String>())
            .unwrap_or_default();
        let up = d
            .system_uptime
            .map_or(String::new(), |u| format!(" up {:.1} s", u as f64 / 1e7));
        let l1 = format!(
            "{} · {} {} · build {} · {}{} · {}",
            d.dump_type_name(),
            d.machine_name().unwrap_or("?"),
            d.processors,
            d.build,
            when,
            up,
            d.process_name.as_deref().unwrap_or("")
        );
        // The culprit line says when it rests on a frame the unwinder did not find (a stack
        // scan or frame-pointer guess) or below frames it could not verify.
        let shaky = an
            .culprit_basis()
            .map_or(String::new(), |b| format!(" (rests on {b})"));
        let l2 = format!(
            "SYMBOL_NAME {}  MODULE {}  IMAGE {} {}  FAULTING {}{shaky}  BUCKET {}",
            opt(&an.symbol_name),
            opt(&an.module_name),
            opt(&an.image_name),
            an.image_version.as_deref().unwrap_or(""),
            opt(&an.faulting_module),
            opt(&an.failure_bucket_id)
        );
        let sw = summary.width as usize;
        let mut slines = vec![
            Line::styled(fit(&l1, sw), theme.dim),
            Line::styled(fit(&l2, sw), theme.header),
        ];
        if tall && let (Some(ip), Some(dis)) = (an.faulting_ip, &an.faulting_ip_disasm) {
            slines.push(Line::styled(
                fit(&format!("FAULTING_IP {ip:016x}  {dis}"), sw),
                theme.text,
            ));
        }
        frame.render_widget(Paragraph::new(slines), summary);

        // A line about symbols (downloads, or the path that would name the frames).
        let stack_area = match &self.symbol_line {
            Some(text)
                if stack_area.height > 3 || (an.stack.is_empty() && stack_area.height > 1) =>
            {
                let [line, rest] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)])
                    .areas(stack_area);
                let style = if self.downloads.is_some() {
                    theme.key
                } else {
                    theme.warn
                };
                frame.render_widget(
                    Paragraph::new(Line::styled(fit(text, line.width as usize), style)),
                    line,
                );
                rest
            }
            _ => stack_area,
        };

        // The stack.
        let focus = ctx.focus;
        let wide = stack_area.width.saturating_sub(2) >= 120;
        let on_stack = self.list == List::Stack;
        let source = table::rows(an.stack.len(), |row, rc| {
            let f = an.stack.get(row)?;
            let faulting = an.faulting_frame == Some(f.index);
            let focused = focus.is_some_and(|k| frame_key(d, f).as_ref() == Some(k));
            let style = row_style(
                theme,
                on_stack && rc.selected,
                focused,
                self.frame_matches(f, faulting),
                faulting,
            );
            Some(TableRow::new(frame_cells(f, faulting, wide), style))
        });
        let mut cursor = self.stack;
        let columns = stack_columns();
        widgets::TableBox::new("Stack", an.stack.len(), "the unwinder found no frames")
            .noun("frames")
            .active(on_stack)
            .table(
                frame,
                stack_area,
                theme,
                DataTable::new(&columns).view(&self.stack_layout.view),
                &mut cursor,
                &source,
            );
        self.stack = cursor;
        self.stack_layout.drawn(&columns);

        // The module list.
        let order = self.module_order(d);
        let wide = module_area.width.saturating_sub(2) >= 120;
        let faulting = an.faulting_module.as_deref();
        let on_modules = self.list == List::Modules;
        let facts = self.facts(ctx.case);
        let raw = self.raw_times;
        let source = table::rows(order.len(), |row, ctx| {
            let mi = *order.get(row)?;
            let m = d.modules.get(mi)?;
            let is_faulting = faulting == Some(m.name.as_str());
            let focused = focus.is_some_and(|k| m.key().as_ref() == Some(k));
            let style = row_style(
                theme,
                on_modules && ctx.selected,
                focused,
                self.module_matches(m, mi, is_faulting),
                is_faulting,
            );
            Some(TableRow::new(
                module_cells(m, facts.get(mi), is_faulting, wide, raw),
                style,
            ))
        });
        let mut cursor = self.modules;
        let columns = module_columns(wide);
        let tail = format!(
            "; {}: sort by {}{}",
            crate::ui::keymap::current().pane_label(PaneId::Dump, PaneAction::Sort),
            self.sort.label(),
            if self.descending { " desc" } else { "" }
        );
        let empty = "the dump lists no loaded modules";
        widgets::TableBox::new("Modules", d.modules.len(), empty)
            .tail(&tail)
            .active(on_modules)
            .table(
                frame,
                module_area,
                theme,
                DataTable::new(&columns).view(&self.module_layout.view),
                &mut cursor,
                &source,
            );
        self.modules = cursor;
        self.module_layout.drawn(&columns);
        self.search.render(frame, search_area, theme);

        if self.detail {
            self.render_detail(frame, area, a, theme);
        }
        if let Some(d) = self.module_detail.as_mut() {
            d.render(frame, area, theme);
        }
        self.module_layout.render_chooser(frame, area, theme);
        self.stack_layout.render_chooser(frame, area, theme);
    }

    fn edit_key(&mut self, key: KeyEvent, ctx: &PaneContext) -> Option<Outcome> {
        if let Some(o) = self.module_layout.key(key) {
            return Some(o);
        }
        if let Some(o) = self.stack_layout.key(key) {
            return Some(o);
        }
        let applied = self.search.edit_open(key)?;
        let Some(a) = self.artefact(ctx.case) else {
            return Some(Outcome::Ignored);
        };
        Some(if applied {
            self.search_jump(a, Jump::First)
        } else {
            Outcome::Consumed
        })
    }

    fn handle_action(&mut self, action: PaneAction, ctx: &PaneContext) -> Outcome {
        use PaneAction as A;
        let Some(a) = self.artefact(ctx.case) else {
            return Outcome::Ignored;
        };
        if self.module_detail.is_some() {
            match action {
                A::Close | A::Details => self.module_detail = None,
                A::Focus => return self.focus_selected(a),
                other => {
                    if let Some(d) = self.module_detail.as_mut() {
                        d.scroll.act(other);
                    }
                }
            }
            return Outcome::Consumed;
        }
        if self.detail {
            return match action {
                A::Close | A::Details => {
                    self.detail = false;
                    Outcome::Consumed
                }
                A::Focus => self.focus_selected(a),
                a => {
                    self.detail_scroll.act(a);
                    Outcome::Consumed
                }
            };
        }
        let over = self.refreshed();
        let an = over.as_deref().unwrap_or(&a.analysis);
        let handled = match self.list {
            List::Stack => self.stack.act(action, an.stack.len()),
            List::Modules => self.modules.act(action, a.dump.modules.len()),
        };
        if handled {
            return Outcome::Consumed;
        }
        let layout = match self.list {
            List::Stack => &mut self.stack_layout,
            List::Modules => &mut self.module_layout,
        };
        if let Some(o) = layout.act(action) {
            return o;
        }
        match action {
            A::Zoom => {
                self.zoom = !self.zoom;
                Outcome::Consumed
            }
            A::PrevBox | A::NextBox => {
                self.list = match self.list {
                    List::Stack => List::Modules,
                    List::Modules => List::Stack,
                };
                Outcome::Consumed
            }
            A::Sort => {
                self.sort = self.sort.next();
                self.list = List::Modules;
                Outcome::Consumed
            }
            A::Reverse => {
                self.descending = !self.descending;
                Outcome::Consumed
            }
            // A module: WinDbg's `lmvm`; a frame: where it was found and the code around it.
            A::Details if self.list == List::Modules => match self.selected_module(&a.dump) {
                Some(m) => {
                    let version = module_version(ctx.case, &a.dump, m);
                    self.module_detail = Some(Detail::new(
                        format!("Module {} (lmvm)", m.short_name()),
                        crate::dump::lmvm::lmvm(&a.dump, an, m, version.as_ref()),
                    ));
                    Outcome::Consumed
                }
                None => Outcome::Message("no module selected".into()),
            },
            A::Details => {
                self.detail = true;
                self.detail_scroll = PopupScroll::default();
                Outcome::Consumed
            }
            A::RawTimes => {
                self.raw_times = !self.raw_times;
                self.list = List::Modules;
                Outcome::Message(if self.raw_times {
                    "module time stamps raw (hex)".into()
                } else {
                    "module time stamps as link dates (UTC)".into()
                })
            }
            A::Focus => self.focus_selected(a),
            A::Search => {
                self.search.open("Search frames and modules");
                Outcome::Consumed
            }
            A::NextMatch => self.search_jump(a, Jump::Next),
            A::PrevMatch => self.search_jump(a, Jump::Prev),
            A::BugCheckPane => match self.info(a).and_then(|i| i.hint) {
                // Take the driver the bug check names along (0x5A's P3), so the pane opens on it.
                Some(h) if PaneId::showing(h.look_at) != PaneId::Dump => {
                    let pane = PaneId::showing(h.look_at).index();
                    match an
                        .parameter_driver
                        .as_deref()
                        .and_then(DriverKey::from_path)
                    {
                        Some(k) => Outcome::FocusAndGoTo(k, pane),
                        None => Outcome::GoTo(pane),
                    }
                }
                _ => Outcome::Message("the bug check points to no other pane".into()),
            },
            A::NextDump if ctx.case.dumps.len() > 1 => {
                self.open_dump((self.dump + 1) % ctx.case.dumps.len());
                Outcome::Consumed
            }
            A::NextDump => Outcome::Message("this case has one dump".into()),
            _ => Outcome::Ignored,
        }
    }

    /// Show dump `index` of the case from its first frame (the History's Enter on a crash).
    fn open_dump(&mut self, index: usize) {
        self.dump = index;
        self.stack = Cursor::default();
        self.modules = Cursor::default();
        self.detail = false;
        self.module_detail = None;
    }

    /// `y`: the selected STACK_TEXT line or module row as shown at full width; `Y`: the whole
    /// `!analyze`-style report of the dump (what `bsodwb dump` prints).
    fn yank(&self, ctx: &PaneContext, whole: bool) -> Option<Yank> {
        let a = self.artefact(ctx.case)?;
        let over = self.refreshed();
        let an = over.as_deref().unwrap_or(&a.analysis);
        if whole {
            return Some(Yank {
                what: "the analysis",
                text: crate::dump::report::text_report(&a.dump, an),
            });
        }
        Some(match self.list {
            List::Stack => {
                let f = an.stack.get(self.stack.selected)?;
                Yank {
                    what: "the frame",
                    text: frame_text(f, an.faulting_frame == Some(f.index), true),
                }
            }
            List::Modules => {
                let order = self.module_order(&a.dump);
                let mi = *order.get(self.modules.selected)?;
                let m = a.dump.modules.get(mi)?;
                let faulting = an.faulting_module.as_deref() == Some(m.name.as_str());
                Yank {
                    what: "the module",
                    text: module_text(m, self.fact(mi), faulting, true, self.raw_times),
                }
            }
        })
    }

    fn on_focus(&mut self, ctx: &PaneContext) {
        // Bring the focused driver's module row into view.
        let Some(key) = ctx.focus else { return };
        let Some(a) = self.artefact(ctx.case) else {
            return;
        };
        let order = self.module_order(&a.dump);
        if let Some(row) = order
            .iter()
            .position(|&i| a.dump.modules.get(i).and_then(Module::key).as_ref() == Some(key))
        {
            self.modules.selected = row;
        }
    }

    fn captures_input(&self) -> bool {
        self.search.is_open() || self.module_layout.is_open() || self.stack_layout.is_open()
    }

    /// A dump's bug check (its first frame) or one frame of its stack.
    fn reveal(&mut self, source: &crate::findings::SourceRef, ctx: &PaneContext) -> bool {
        use crate::findings::SourceRef as S;
        let (dump, frame) = match source {
            S::Dump { dump } => (*dump, None),
            S::Frame { dump, frame } => (*dump, Some(*frame)),
            _ => return false,
        };
        if dump >= ctx.case.dumps.len() {
            return false;
        }
        self.open_dump(dump);
        self.list = List::Stack;
        if let Some(f) = frame {
            let over = self.refreshed();
            let Some(a) = self.artefact(ctx.case) else {
                return false;
            };
            let an = over.as_deref().unwrap_or(&a.analysis);
            match an.stack.iter().position(|x| x.index == f) {
                Some(row) => self.stack.center(row),
                None => return false,
            }
        }
        true
    }

    fn cursor_mut(&mut self) -> Option<&mut Cursor> {
        Some(match self.list {
            List::Stack => &mut self.stack,
            List::Modules => &mut self.modules,
        })
    }

    /// A frame or module as STACK_TEXT / the module list shows it, its source the dump file
    /// and the frame number or module name.
    fn note(&self, ctx: &PaneContext) -> Option<crate::ui::pane::NoteEntry> {
        let a = self.artefact(ctx.case)?;
        let text = self.yank(ctx, false)?.text;
        let source = match self.list {
            List::Stack => format!("{} frame {:02}", a.file, self.stack.selected),
            List::Modules => format!("{} module {}", a.file, self.selected_module(&a.dump)?.name),
        };
        let text = match &self.module_detail {
            Some(d) => d.text(),
            None => format!("    {text}"),
        };
        Some(crate::ui::pane::NoteEntry { text, source })
    }

    /// Take the download worker's news: progress into the symbol line, new analyses into view.
    fn tick(&mut self) -> bool {
        let Some(rx) = &self.downloads else {
            return false;
        };
        let mut changed = false;
        let mut done = false;
        loop {
            match rx.try_recv() {
                Ok(WorkerMsg::Progress(p)) => {
                    let verb = match p.stage {
                        Stage::Receiving => "downloading ",
                        _ => "",
                    };
                    self.symbol_line = Some(format!("symbols: {verb}{}", p.line()));
                    changed = true;
                }
                Ok(WorkerMsg::Done {
                    index,
                    analysis,
                    requests,
                    notes,
                }) => {
                    let left = fetch::unnamed_frames(&analysis);
                    self.refreshed.insert(index, Arc::new(*analysis));
                    let mut line = format!(
                        "symbols: {requests} request(s); {}",
                        if left == 0 {
                            "every frame named".to_string()
                        } else {
                            format!("{left} frame(s) still unnamed")
                        }
                    );
                    if let Some(n) = notes.first() {
                        line.push_str(&format!(" ({n})"));
                    }
                    self.symbol_line = Some(line);
                    changed = true;
                }
                Ok(WorkerMsg::Failed { index, error }) => {
                    self.symbol_line = Some(format!("symbols: dump {}: {error}", index + 1));
                    changed = true;
                }
                Ok(WorkerMsg::Finished) | Err(TryRecvError::Disconnected) => {
                    done = true;
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        if done {
            self.downloads = None;
            changed = true;
        }
        changed
    }
}

fn row_style(theme: &Theme, selected: bool, focused: bool, matched: bool, faulting: bool) -> Style {
    if selected {
        theme.selected
    } else if focused {
        theme.focused_driver
    } else if matched {
        // A faulting row keeps its `*` mark.
        theme.key
    } else if faulting {
        theme.bad
    } else {
        theme.text
    }
}

impl DumpPane {
    fn focus_selected(&self, a: &DumpArtefact) -> Outcome {
        let key = match self.list {
            List::Stack => self.selected_frame(a).and_then(|f| frame_key(&a.dump, &f)),
            List::Modules => self.selected_module(&a.dump).and_then(Module::key),
        };
        match key {
            Some(k) => Outcome::Focus(k),
            None => Outcome::Message("this frame is in no known module".into()),
        }
    }

    fn render_detail(&mut self, frame: &mut Frame, area: Rect, a: &DumpArtefact, theme: &Theme) {
        let d = &a.dump;
        let over = self.refreshed();
        let an = over.as_deref().unwrap_or(&a.analysis);
        let (module, ip, title) = match self.list {
            List::Stack => match self.selected_frame(a) {
                Some(f) => (
                    d.module_at(f.ip).cloned(),
                    Some(f.ip),
                    format!("Frame {:02}: {}", f.index, f.call_site),
                ),
                None => return,
            },
            List::Modules => match self.selected_module(d) {
                Some(m) => (Some(m.clone()), None, format!("Module {}", m.name)),
                None => return,
            },
        };
        let w = area.width.saturating_sub(4).min(110);
        let h = area.height.saturating_sub(2).min(30);
        let popup = widgets::popup::centred(area, w, h);
        let iw = w.saturating_sub(2) as usize;
        let mut lines = Vec::new();
        if let (List::Stack, Some(f)) = (self.list, self.selected_frame(a)) {
            let trap = f.trap_frame_address.map_or(String::new(), |t| {
                format!("  TrapFrame @ {:08x}`{:08x}", t >> 32, t & 0xffff_ffff)
            });
            let culprit = if an.faulting_frame == Some(f.index) {
                "  (the culprit)"
            } else if !f.trusted() {
                "  (a guess: never the culprit)"
            } else {
                ""
            };
            lines.push(Line::styled(
                fit(
                    &format!(
                        "found by {}  name from {}{trap}{culprit}",
                        f.walk_label(),
                        f.name_source.as_str()
                    ),
                    iw,
                ),
                if f.trusted() { theme.text } else { theme.warn },
            ));
        }
        match &module {
            Some(m) => {
                lines.push(Line::styled(fit(&m.path, iw), theme.header));
                lines.push(Line::raw(fit(
                    &format!(
                        "base {:016x}  end {:016x}  size {:#x}",
                        m.base,
                        m.base.wrapping_add(u64::from(m.size)),
                        m.size
                    ),
                    iw,
                )));
                lines.push(Line::raw(fit(
                    &format!(
                        "timestamp {:08x}  checksum {:08x}  store key {}\\{}\\{}",
                        m.timestamp,
                        m.checksum,
                        m.name,
                        m.image_store_key(),
                        m.name
                    ),
                    iw,
                )));
                let used = an
                    .images
                    .iter()
                    .find(|(n, _)| n == &m.name)
                    .map_or("not found (stack scanned)".to_string(), |(_, from)| {
                        from.clone()
                    });
                lines.push(Line::raw(fit(&format!("image for unwinding: {used}"), iw)));
                for mm in an.image_mismatches.iter().filter(|x| x.module == m.name) {
                    lines.push(Line::styled(fit(&mm.sentence(), iw), theme.warn));
                }
                if an.faulting_module.as_deref() == Some(m.name.as_str()) {
                    lines.push(Line::styled("the faulting module", theme.bad));
                }
            }
            None => lines.push(Line::styled("in no loaded module", theme.warn)),
        }
        if let Some(ip) = ip {
            lines.push(Line::raw(""));
            let before = 0x30u64;
            let bytes = d.memory.read_prefix(ip.saturating_sub(before), 0x60);
            let listing = if ip >= before && bytes.len() as u64 > before {
                sync_listing(a, ip, before, &bytes)
            } else {
                Vec::new()
            };
            if listing.is_empty() {
                lines.push(Line::styled(
                    "the dump does not hold the code bytes at this address",
                    theme.dim,
                ));
            } else {
                let mark = if theme.ascii { ">" } else { "▶" };
                lines.push(Line::styled(
                    format!("disassembly ({mark} = this frame's address)"),
                    theme.dim,
                ));
                for (at, text) in listing {
                    let here = at == ip;
                    let s = format!("{} {:016x}  {text}", if here { mark } else { " " }, at);
                    lines.push(Line::styled(
                        fit(&s, iw),
                        if here { theme.selected } else { theme.text },
                    ));
                }
            }
        }
        // The frame or module in the one scrolling popup.
        let rows: Vec<Line<'static>> = lines
            .iter()
            .flat_map(|l| widgets::popup::wrap_line(l, iw))
            .collect();
        widgets::popup::render_rows(
            frame,
            popup,
            &format!("{title} (Esc closes, f focuses)"),
            rows,
            theme,
            &mut self.detail_scroll,
        );
    }
}

/// Instructions around `ip` from `bytes` (which start `before` bytes ahead of it): decode from
/// the earliest start whose instruction stream lands exactly on `ip`, so the listing shows the
/// instructions leading to it (the call, for a return address). Call and jump targets are
/// named (`call nt!KeBugCheckEx`) by [`target_name`].
fn sync_listing(a: &DumpArtefact, ip: u64, before: u64, bytes: &[u8]) -> Vec<(u64, String)> {
    let machine = a.dump.machine;
    // Each target is named once per listing (an export lookup reads the image's headers).
    let names = std::cell::RefCell::new(std::collections::HashMap::new());
    let name = |va: u64| {
        names
            .borrow_mut()
            .entry(va)
            .or_insert_with(|| target_name(a, va))
            .clone()
    };
    let ptr = |va: u64| {
        let width = if machine == 0x14c { 4 } else { 8 };
        let b = a.dump.memory.read_prefix(va, width);
        match b.len() {
            8 => Some(u64::from_le_bytes(b.try_into().ok()?)),
            4 => Some(u64::from(u32::from_le_bytes(b.try_into().ok()?))),
            _ => None,
        }
    };
    let start_va = ip - before;
    for skip in 0..before {
        let listing = disassemble_named(
            machine,
            start_va + skip,
            &bytes[skip as usize..],
            200,
            &name,
            &ptr,
        );
        if listing.iter().any(|(at, _)| *at == ip) {
            let pos = listing.iter().position(|(at, _)| *at == ip).unwrap_or(0);
            let from = pos.saturating_sub(6);
            return listing.into_iter().skip(from).take(14).collect();
        }
    }
    disassemble_named(machine, ip, &bytes[before as usize..], 8, &name, &ptr)
}

/// A code address as WinDbg names it: `nt!KeBugCheckEx` (a function the analysis named from
/// symbols, or an export of the module's image in the dump), `nt!Foo+0x12`, else
/// `module+0x1234`; `None` outside every loaded module.
fn target_name(a: &DumpArtefact, va: u64) -> Option<String> {
    let m = a.dump.module_at(va)?;
    // Functions the stack analysis named (from PDBs or exports): their start addresses.
    for f in &a.analysis.stack {
        if let (Some(sym), Some(off), Some(short)) = (&f.symbol, f.symbol_offset, &f.module_short)
            && f.ip.checked_sub(off) == Some(va)
        {
            return Some(format!("{short}!{sym}"));
        }
    }
    let rva = u32::try_from(va - m.base).ok()?;
    let export = crate::dump::image::Image::load(crate::dump::image::ImageSource::Memory {
        memory: &a.dump.memory,
        base: m.base,
    })
    .and_then(|mut img| img.export_symbol(rva));
    Some(match export {
        Some((n, 0)) => format!("{}!{n}", m.short_name()),
        Some((n, off)) => format!("{}!{n}+{off:#x}", m.short_name()),
        None => format!("{}+{:#x}", m.short_name(), va - m.base),
    })
}

#[cfg(test)]
mod share_tests {
    use crate::ui::widgets::share_rows;

    #[test]
    fn boxes_take_what_they_hold() {
        // 7 frames (9 rows with borders) and 18 modules (20) in 35 rows: the stack keeps 9.
        assert_eq!(share_rows(35, 9, 20), (9, 26));
        // A short module list gives its rows to the stack.
        assert_eq!(share_rows(35, 40, 6), (29, 6));
        // Both long: 3:2.
        assert_eq!(share_rows(12, 40, 40), (7, 5));
        // An empty stack collapses to its borders.
        assert_eq!(share_rows(12, 2, 40), (2, 10));
        assert_eq!(share_rows(0, 9, 20), (0, 0));
    }
}
