//! `bsodwb bugcheck CODE [P1 [P2 [P3 [P4]]]] --format text|json` (WinDbg's `!analyze -show`:
//! what a code and its parameters mean, decoded where no dump is needed) and
//! `bsodwb bugcheck --list` (every known code, and whether its parameters are documented).

use bsod_workbench::bugcheck;
use std::io::Write;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The code: `0xD1`, `d1` (hex), `209` (decimal) or a name (`DRIVER_IRQL_NOT_LESS_OR_EQUAL`).
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// P1..P4 in hex, as WinDbg prints them (`7ffe7350d0c4`, `0x2`); missing ones are 0.
    #[arg(num_args = 0..=4)]
    pub params: Vec<String>,
    /// List every known code instead.
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

fn parse_param(s: &str) -> anyhow::Result<u64> {
    let t = s.trim().replace('`', "");
    let h = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(&t);
    u64::from_str_radix(h, 16)
        .map_err(|_| anyhow::anyhow!("parameter {s:?} is not a hexadecimal number"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.format == super::Format::Csv {
        anyhow::bail!("bugcheck writes text or json");
    }
    let mut out = super::stdout(args.format);
    if args.list {
        list(&mut out, args.format)?;
        out.flush()?;
        return Ok(());
    }
    let spec = args.code.unwrap_or_default();
    let code = bugcheck::parse_code(&spec)
        .ok_or_else(|| anyhow::anyhow!("{spec:?} is neither a bug check code nor a known name"))?;
    let mut p = [0u64; 4];
    for (slot, s) in p.iter_mut().zip(&args.params) {
        *slot = parse_param(s)?;
    }
    let info = bugcheck::describe(code, p);
    match args.format {
        super::Format::Json => {
            let mut v = serde_json::to_value(&info)?;
            v["base_code"] = format!("0x{:x}", bugcheck::base_code(code)).into();
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        }
        _ => write_text(&mut out, code, &info, args.params.len())?,
    }
    out.flush()?;
    Ok(())
}

fn write_text(
    out: &mut impl Write,
    code: u32,
    b: &bugcheck::BugcheckInfo,
    given: usize,
) -> std::io::Result<()> {
    out.write_all(bugcheck::show_text(code, b, given).as_bytes())
}

fn list(out: &mut impl Write, format: super::Format) -> anyhow::Result<()> {
    let documented: std::collections::HashSet<u32> = bugcheck::documented().into_iter().collect();
    let rows: Vec<serde_json::Value> = bugcheck::all()
        .iter()
        .map(|&(code, name)| {
            let info = bugcheck::describe(code, [0; 4]);
            serde_json::json!({
                "code": format!("0x{code:x}"),
                "name": name,
                "parameter_meanings": documented.contains(&bugcheck::base_code(code)),
                "summary": info.summary,
                "source": info.source,
            })
        })
        .collect();
    if format == super::Format::Json {
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    for (&(code, name), r) in bugcheck::all().iter().zip(&rows) {
        let mark = if r["parameter_meanings"] == true {
            "P"
        } else {
            "-"
        };
        writeln!(out, "0x{code:08X} {mark} {name}")?;
    }
    writeln!(
        out,
        "{} codes, {} with parameter meanings (P)",
        rows.len(),
        documented.len()
    )?;
    Ok(())
}
