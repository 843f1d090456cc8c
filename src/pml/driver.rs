//! Everything a log says about one driver (docs/formats/pml.md §22.8): its Load Image events, file
//! events on its image, registry events under `Services\<name>`, events whose stack passes
//! through it, and the System process's module entry for it. The log is read by the
//! `procmon-pml` crate; the driver identity ([`DriverKey`]) is the case's, so this query lives
//! here, as [`DriverQuery`] on [`PmlLog`].

use super::format::{EVENT_HEADER_SIZE, Module};
use super::index::EventIndex;
use super::{Event, PmlLog, format, names};
use crate::driver::DriverKey;
use serde::Serialize;

/// The events of one driver, as global event numbers in event order.
#[derive(Clone, Debug, Serialize)]
pub struct DriverEvents {
    pub driver: DriverKey,
    /// The kernel module-list entry (base, size, timestamp, version, company).
    pub module: Option<Module>,
    pub load_image: Vec<u32>,
    pub file_system: Vec<u32>,
    pub registry: Vec<u32>,
    pub stack: Vec<u32>,
    /// Union of the above, sorted.
    pub all: Vec<u32>,
}

/// Whether a registry path lies under `...\Services\<service>` (the key or below it).
pub fn is_under_service(path: &str, service: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let needle = format!("\\services\\{}", service.to_ascii_lowercase());
    p.match_indices(&needle).any(|(at, m)| {
        let rest = &p[at + m.len()..];
        rest.is_empty() || rest.starts_with('\\')
    })
}

/// The driver questions a case asks of a Procmon log.
pub trait DriverQuery {
    /// The kernel module entry of a driver (System process's module list).
    fn driver_module(&self, key: &DriverKey) -> Option<&Module>;

    /// Drivers the log knows: `.sys` modules of the System process and `.sys` images loaded.
    fn drivers(&self) -> Vec<DriverKey>;

    /// Every event about `key`. `service` is the service name when it differs from the image
    /// stem (e.g. from the SYSTEM hive); otherwise the stem is used.
    fn driver_events(&self, key: &DriverKey, service: Option<&str>) -> DriverEvents;

    /// The driver an event is about: its path's image when that is a `.sys`, else the innermost
    /// stack frame in a `.sys` module.
    fn driver_of_event(&self, event: &Event) -> Option<DriverKey>;
}

impl DriverQuery for PmlLog {
    fn driver_module(&self, key: &DriverKey) -> Option<&Module> {
        self.kernel_modules()
            .iter()
            .find(|m| key.matches_path(&m.path))
    }

    fn drivers(&self) -> Vec<DriverKey> {
        let mut out: Vec<DriverKey> = self
            .kernel_modules()
            .iter()
            .filter(|m| m.path.to_ascii_lowercase().ends_with(".sys"))
            .filter_map(|m| DriverKey::from_path(&m.path))
            .collect();
        let ix = self.index();
        for (id, p) in ix.paths.iter().enumerate() {
            if p.to_ascii_lowercase().ends_with(".sys")
                && id != 0
                && let Some(k) = DriverKey::from_path(p)
            {
                out.push(k);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn driver_events(&self, key: &DriverKey, service: Option<&str>) -> DriverEvents {
        let ix = self.index();
        let service = service.unwrap_or(key.stem());
        let image_paths: Vec<bool> = ix.paths.iter().map(|p| key.matches_path(p)).collect();
        let service_paths: Vec<bool> = ix
            .paths
            .iter()
            .map(|p| is_under_service(p, service))
            .collect();
        let mut load_image = Vec::new();
        let mut file_system = Vec::new();
        let mut registry = Vec::new();
        for i in 0..ix.len() {
            let pid = ix.path.get(i).copied().unwrap_or(0) as usize;
            let Some(op) = ix.op_of(i) else { continue };
            match op.class {
                names::CLASS_PROCESS
                    if op.operation == names::proc_op::LOAD_IMAGE
                        && image_paths.get(pid) == Some(&true) =>
                {
                    load_image.push(i as u32)
                }
                names::CLASS_FILE_SYSTEM | names::CLASS_IPC
                    if image_paths.get(pid) == Some(&true) =>
                {
                    file_system.push(i as u32)
                }
                names::CLASS_REGISTRY if service_paths.get(pid) == Some(&true) => {
                    registry.push(i as u32)
                }
                _ => {}
            }
        }
        // Address ranges of the image: the module list entry and every Load Image of it.
        let module = self.driver_module(key).cloned();
        let mut ranges: Vec<(usize, u64, u64)> = Vec::new();
        if let Some(m) = &module {
            for f in 0..self.files().len() {
                ranges.push((f, m.base, m.base + u64::from(m.size)));
            }
        }
        for &i in &load_image {
            if let Ok(ev) = self.event(i as usize)
                && let Some(img) = ev.image
            {
                ranges.push((ev.file, img.base, img.base + u64::from(img.size)));
            }
        }
        // A driver loaded many times at the same base (a long capture) needs one range per
        // place, not one per load: the stack pass tests every frame against every range.
        ranges.sort_unstable();
        ranges.dedup();
        let stack = events_with_frames_in(self, ix, &ranges);
        let mut all: Vec<u32> = load_image
            .iter()
            .chain(&file_system)
            .chain(&registry)
            .chain(&stack)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        DriverEvents {
            driver: key.clone(),
            module,
            load_image,
            file_system,
            registry,
            stack,
            all,
        }
    }

    fn driver_of_event(&self, event: &Event) -> Option<DriverKey> {
        let is_sys = |p: &str| p.to_ascii_lowercase().ends_with(".sys");
        if is_sys(&event.path)
            && let Some(k) = DriverKey::from_path(&event.path)
        {
            return Some(k);
        }
        self.stack(event)
            .into_iter()
            .filter_map(|f| f.module)
            .find(|m| is_sys(m))
            .and_then(|m| DriverKey::from_path(&m))
    }
}

/// Events with a stack frame inside one of `ranges` (file, start, end).
fn events_with_frames_in(log: &PmlLog, ix: &EventIndex, ranges: &[(usize, u64, u64)]) -> Vec<u32> {
    let mut out = Vec::new();
    if ranges.is_empty() {
        return out;
    }
    let mut number = 0usize;
    for (f, file) in log.files().iter().enumerate() {
        let mine: Vec<(u64, u64)> = ranges
            .iter()
            .filter(|r| r.0 == f)
            .map(|r| (r.1, r.2))
            .collect();
        let b = file.bytes();
        let ptr = file.pointer_size();
        for local in 0..file.len() {
            let i = number + local;
            if mine.is_empty() {
                continue;
            }
            let Some(off) = file.event_offset(local) else {
                continue;
            };
            let Some(Ok((_, h))) = b.get(off..).map(format::event_header) else {
                continue;
            };
            let s = off + EVENT_HEADER_SIZE;
            let Some(frames) = b.get(s..s + ptr * usize::from(h.stack_depth)) else {
                continue;
            };
            let hit = frames.chunks_exact(ptr).any(|c| {
                let a = if ptr == 8 {
                    u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                } else {
                    u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                };
                mine.iter().any(|&(lo, hi)| a >= lo && a < hi)
            });
            if hit && i < ix.len() {
                out.push(i as u32);
            }
        }
        number += file.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_paths_match_the_key_and_below_only() {
        let p = "HKLM\\System\\CurrentControlSet\\Services\\FileCrypt\\Start";
        assert!(is_under_service(p, "filecrypt"));
        assert!(is_under_service(
            "HKLM\\SYSTEM\\ControlSet001\\Services\\filecrypt",
            "FileCrypt"
        ));
        assert!(!is_under_service(p, "filecry"));
        assert!(!is_under_service(
            "HKLM\\System\\CurrentControlSet\\Services\\FileCryptX",
            "filecrypt"
        ));
    }
}
