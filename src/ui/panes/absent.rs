//! A pane whose artefact the case lacks: it says which file it needs.

use crate::ui::action::{Outcome, PaneAction};
use crate::ui::pane::{Pane, PaneContext};
use crate::ui::widgets;
use ratatui::Frame;
use ratatui::layout::Rect;

pub struct AbsentPane {
    title: &'static str,
    needs: &'static [&'static str],
}

impl AbsentPane {
    pub fn new(title: &'static str, needs: &'static [&'static str]) -> AbsentPane {
        AbsentPane { title, needs }
    }
}

impl Pane for AbsentPane {
    fn title(&self) -> &'static str {
        self.title
    }
    fn render(&mut self, frame: &mut Frame, area: Rect, ctx: &PaneContext) {
        widgets::missing(frame, area, self.title, self.needs, ctx.theme);
    }
    fn handle_action(&mut self, _action: PaneAction, _ctx: &PaneContext) -> Outcome {
        Outcome::Message(format!(
            "this case has no {} artefact: the pane says which file it needs",
            self.title
        ))
    }
    fn on_focus(&mut self, _ctx: &PaneContext) {}
}
