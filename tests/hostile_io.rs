//! Hostile input and I/O: decompression bombs (gzip, xz, overlapping and nested zips), streams
//! cut short, the private temp folder, files that shrink while mapped, and load progress.
//! Every input is built here; peak memory is read from the kernel (wait4's rusage) for runs of
//! the real binary, and temp-disk use from the inventory's count of bytes written.

mod common;

use bsod_workbench::case::{self, Case, Extract, Inventory, Kind, Limits};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// `n` concatenated gzip members, each `member` inflated (MultiGz reads them all as one file).
fn gzip_members(member: &[u8], n: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(member).expect("gz");
    let one = gz.finish().expect("gz");
    one.repeat(n)
}

/// A Procmon log header followed by zeros: an artefact bsodwb reads, so it is inflated.
fn pml_head_then_zeros(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    v[..12].copy_from_slice(b"PML_\x09\0\0\0\x01\0\0\0");
    v
}

/// Deterministic incompressible bytes after a PML header (xorshift).
fn pml_head_then_noise(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    v.extend_from_slice(b"PML_\x09\0\0\0\x01\0\0\0");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut opts = lzma_rust2::XzOptions::with_preset(0);
    opts.set_check_sum_type(lzma_rust2::CheckType::Crc32);
    let mut w = lzma_rust2::XzWriter::new(Vec::new(), opts).expect("xz writer");
    w.write_all(data).expect("xz");
    w.finish().expect("xz")
}

fn limits(per_case: u64) -> Limits {
    Limits {
        per_entry: per_case,
        per_case,
    }
}

fn discover(dir: &Path, l: Limits) -> Inventory {
    Inventory::discover_limited(dir, Extract::ToTempDir, l, &mut |_| {}).expect("discover")
}

fn problems(inv: &Inventory) -> String {
    format!("{:#?}", inv.problems)
}

/// Bytes of all regular files under `dir`.
fn disk_use(dir: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                n += disk_use(&e.path());
            } else if let Ok(m) = e.metadata() {
                n += m.len();
            }
        }
    }
    n
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident memory of the child, KiB.
    max_rss_kib: i64,
}

/// Run the real binary with `TMPDIR=tmp`, with a deadline, and read its peak memory.
///
/// The peak comes from wait4's rusage, taken by a small process: Linux carries a process's
/// resident high-water mark across fork and exec, so a child forked straight from this test
/// binary (hundreds of MB while other tests build their bombs) would report the test's memory.
/// The measuring process is this test binary re-run with only [`measure_helper`] selected.
#[cfg(unix)]
fn run_bsodwb(args: &[&str], tmp: &Path, env: &[(&str, &str)]) -> Run {
    use std::process::Command;
    let out_dir = tempfile::tempdir().expect("out");
    let stdout = out_dir.path().join("stdout");
    let stderr = out_dir.path().join("stderr");
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "measure_helper",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("BSODWB_MEASURE_ARGS", args.join("\u{1f}"))
    .env("BSODWB_MEASURE_OUT", &stdout)
    .env("BSODWB_MEASURE_ERR", &stderr)
    .env("TMPDIR", tmp);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("measuring helper runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |key: &str| -> Option<i64> {
        // libtest prints `test measure_helper ... ` before the line.
        let line = text.split("BSODWB_MEASURED ").nth(1)?.lines().next()?;
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))?
            .parse()
            .ok()
    };
    let max_rss_kib = field("maxrss").unwrap_or_else(|| {
        panic!(
            "no measurement from the helper:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = field("code").filter(|c| *c >= 0).map(|c| c as i32);
    eprintln!(
        "bsodwb {args:?}: peak memory {max_rss_kib} KiB in {} ms",
        field("ms").unwrap_or(-1)
    );
    Run {
        code,
        stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
        max_rss_kib,
    }
}

/// Not a test on its own: the small measuring process of [`run_bsodwb`] (does nothing unless
/// `BSODWB_MEASURE_ARGS` is set). Runs bsodwb, reaps it with wait4 for its rusage, kills it
/// after 60 s (a hang), and prints `BSODWB_MEASURED maxrss=KiB code=N ms=N`.
#[cfg(unix)]
#[test]
#[allow(unsafe_code)]
fn measure_helper() {
    use std::process::{Command, Stdio};
    let Ok(args) = std::env::var("BSODWB_MEASURE_ARGS") else {
        return;
    };
    let path = |k: &str| PathBuf::from(std::env::var_os(k).expect("output path"));
    let child = Command::new(env!("CARGO_BIN_EXE_bsodwb"))
        .args(args.split('\u{1f}'))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(path("BSODWB_MEASURE_OUT")).expect("stdout file"))
        .stderr(std::fs::File::create(path("BSODWB_MEASURE_ERR")).expect("stderr file"))
        .spawn()
        .expect("bsodwb starts");
    let pid = child.id() as libc::pid_t;
    // The child is reaped by wait4 below (which also gives its rusage), not by Child::wait.
    std::mem::forget(child);
    let start = Instant::now();
    let mut hung = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: rusage is plain data the kernel fills in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our own unreaped child; WNOHANG makes this a poll.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break (status, usage);
        }
        assert_eq!(r, 0, "wait4 failed");
        if !hung && start.elapsed() > Duration::from_secs(60) {
            hung = true;
            // SAFETY: kill has no memory preconditions; pid is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(!hung, "bsodwb hung for 60 s");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    println!(
        "BSODWB_MEASURED maxrss={} code={code} ms={}",
        usage.ru_maxrss,
        start.elapsed().as_millis()
    );
}

/// The 10 MB .gz (10 GiB of zeros): nothing is written, memory stays small, no hang.
#[cfg(unix)]
#[test]
fn a_gzip_of_zeros_is_sniffed_not_inflated() {
    let case = tempfile::tempdir().expect("case");
    let tmp = tempfile::tempdir().expect("tmp");
    let gz = gzip_members(&vec![0u8; 64 << 20], 160);
    assert!(gz.len() > 9_000_000, "{}", gz.len());
    std::fs::write(case.path().join("MEMORY.DMP.gz"), &gz).expect("write");
    let case_arg = case.path().to_str().expect("utf-8");
    for cmd in ["analyze", "scan"] {
        let run = run_bsodwb(&[cmd, case_arg], tmp.path(), &[]);
        assert!(
            run.code.is_some(),
            "{cmd}: killed by a signal: {}",
            run.stderr
        );
        assert!(
            run.max_rss_kib < 64 * 1024,
            "{cmd}: peak memory {} KiB",
            run.max_rss_kib
        );
        assert_eq!(disk_use(tmp.path()), 0, "{cmd} left files in TMPDIR");
        assert!(
            std::fs::read_dir(tmp.path()).expect("ls").next().is_none(),
            "{cmd} left its temp folder"
        );
        if cmd == "scan" {
            assert!(run.stdout.contains("MEMORY.DMP.gz"), "{}", run.stdout);
        }
    }
    // In the library: listed as not inflated, nothing written.
    let inv = discover(case.path(), Limits::from_env());
    assert_eq!(inv.inflated_bytes, 0);
    let f = &inv.files[0];
    assert_eq!(f.kind, Kind::Unknown);
    assert!(f.local.is_none());
    assert!(f.detail.contains("not inflated"), "{}", f.detail);
}

/// A gzip bomb whose content is an artefact is written only up to the case's budget, and its
/// ratio beyond 1000:1 is named with the file's path.
#[test]
fn a_gzip_bomb_of_an_artefact_stops_at_the_budget() {
    let case = tempfile::tempdir().expect("case");
    let mut member = pml_head_then_zeros(16 << 20);
    let gz = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&member).expect("gz");
        let first = gz.finish().expect("gz");
        member[..12].fill(0);
        let rest = gzip_members(&member, 15);
        [first, rest].concat()
    };
    std::fs::write(case.path().join("Bootlog.pml.gz"), &gz).expect("write");
    let budget = 40 * MIB;
    let inv = discover(case.path(), limits(budget));
    assert!(inv.inflated_bytes <= budget, "{}", inv.inflated_bytes);
    let temp = inv.temp_dir().expect("temp folder").to_path_buf();
    assert!(disk_use(&temp) <= budget, "{}", disk_use(&temp));
    assert!(
        inv.problems
            .iter()
            .any(|p| p.path == "Bootlog.pml.gz" && p.message.contains("inflates past")),
        "{}",
        problems(&inv)
    );
    // Under a large budget it inflates whole and the ratio is named.
    let inv = discover(case.path(), limits(1 << 30));
    assert_eq!(inv.inflated_bytes, 256 * MIB);
    assert!(
        inv.problems
            .iter()
            .any(|p| p.path == "Bootlog.pml.gz" && p.message.contains(":1, beyond 1000:1")),
        "{}",
        problems(&inv)
    );
    assert_eq!(inv.files[0].kind, Kind::ProcmonLog);
}

/// Hand-made zip: one deflated entry's data, then `n` central-directory records all pointing
/// at it (the overlapping-entries bomb).
fn overlapping_zip(content: &[u8], n: usize) -> Vec<u8> {
    zip_claiming(content, n, content.len() as u32)
}

/// [`overlapping_zip`] whose headers claim `claimed` bytes for each entry.
fn zip_claiming(content: &[u8], n: usize, claimed: u32) -> Vec<u8> {
    let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    d.write_all(content).expect("deflate");
    let packed = d.finish().expect("deflate");
    let crc = crc32fast::hash(content);
    let name = b"e0.pml";
    let mut z = Vec::new();
    let local = |z: &mut Vec<u8>| {
        z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        z.extend_from_slice(&20u16.to_le_bytes()); // version needed
        z.extend_from_slice(&0u16.to_le_bytes()); // flags
        z.extend_from_slice(&8u16.to_le_bytes()); // deflate
        z.extend_from_slice(&[0; 4]); // time, date
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        z.extend_from_slice(&claimed.to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name);
    };
    local(&mut z);
    z.extend_from_slice(&packed);
    let cd_start = z.len();
    for i in 0..n {
        let entry_name = format!("e{i}.pml");
        z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        z.extend_from_slice(&20u16.to_le_bytes()); // made by
        z.extend_from_slice(&20u16.to_le_bytes()); // needed
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(&8u16.to_le_bytes());
        z.extend_from_slice(&[0; 4]);
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        z.extend_from_slice(&claimed.to_le_bytes());
        z.extend_from_slice(&(entry_name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 8]); // extra len, comment len, disk, internal attrs
        z.extend_from_slice(&[0; 4]); // external attrs
        z.extend_from_slice(&0u32.to_le_bytes()); // every entry at offset 0
        z.extend_from_slice(entry_name.as_bytes());
    }
    let cd_len = z.len() - cd_start;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0; 4]);
    z.extend_from_slice(&(n as u16).to_le_bytes());
    z.extend_from_slice(&(n as u16).to_le_bytes());
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd_start as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

#[test]
fn overlapping_zip_entries_share_one_budget() {
    let case = tempfile::tempdir().expect("case");
    let zip = overlapping_zip(&pml_head_then_zeros(32 << 20), 100);
    assert!(zip.len() < 100_000, "{}", zip.len());
    std::fs::write(case.path().join("logs.zip"), &zip).expect("write");
    let budget = 100 * MIB;
    let inv = discover(case.path(), limits(budget));
    assert!(inv.inflated_bytes <= budget, "{}", inv.inflated_bytes);
    if let Some(t) = inv.temp_dir() {
        assert!(disk_use(t) <= budget);
    }
    // Three entries fit; the others are refused by the budget, by name.
    let written = inv.files.iter().filter(|f| f.local.is_some()).count();
    assert!((1..=3).contains(&written), "{written}");
    assert!(
        inv.problems
            .iter()
            .any(|p| p.path.starts_with("logs.zip!e") && p.message.contains("budget")),
        "{}",
        problems(&inv)
    );
}

/// An entry whose header claims 64 KiB but inflates to 32 MiB is stopped at its claim.
#[test]
fn a_zip_entry_lying_about_its_size_is_stopped_at_its_claim() {
    let case = tempfile::tempdir().expect("case");
    let zip = zip_claiming(&pml_head_then_zeros(32 << 20), 1, 64 << 10);
    std::fs::write(case.path().join("liar.zip"), &zip).expect("write");
    let inv = discover(case.path(), limits(1 << 30));
    assert!(inv.inflated_bytes <= 1 << 20, "{}", inv.inflated_bytes);
    assert!(
        inv.problems
            .iter()
            .any(|p| p.path == "liar.zip!e0.pml" && p.message.contains("its zip header claims")),
        "{}",
        problems(&inv)
    );
    assert!(
        inv.files.iter().all(|f| f.local.is_none()),
        "{:#?}",
        inv.files
    );
}

/// Zips in zips in zips: the nested archives and their entries all draw on one budget.
#[test]
fn nested_zips_multiply_nothing() {
    use zip::write::SimpleFileOptions;
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    let leaf = pml_head_then_zeros(8 << 20);
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..10 {
        inner
            .start_file(format!("Bootlog{i}.pml"), opts)
            .expect("entry");
        inner.write_all(&leaf).expect("write");
    }
    let inner = inner.finish().expect("zip").into_inner();
    let mut middle = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..10 {
        middle
            .start_file(format!("day{i}.zip"), opts)
            .expect("entry");
        middle.write_all(&inner).expect("write");
    }
    let middle = middle.finish().expect("zip").into_inner();
    let case = tempfile::tempdir().expect("case");
    let mut outer =
        zip::ZipWriter::new(std::fs::File::create(case.path().join("case.zip")).expect("create"));
    for i in 0..4 {
        outer
            .start_file(format!("week{i}.zip"), opts)
            .expect("entry");
        outer.write_all(&middle).expect("write");
    }
    outer.finish().expect("zip");
    // 4 x 10 x 10 x 8 MiB = 3.2 GiB claimed; 60 MiB may be written.
    let budget = 60 * MIB;
    let inv = discover(case.path(), limits(budget));
    assert!(inv.inflated_bytes <= budget, "{}", inv.inflated_bytes);
    assert!(
        inv.files
            .iter()
            .any(|f| f.path == "case.zip!week0.zip!day0.zip!Bootlog0.pml" && f.local.is_some()),
        "{:#?}",
        inv.files
    );
    assert!(
        inv.problems.iter().any(|p| p.message.contains("budget")),
        "{}",
        problems(&inv)
    );
    // Nested archives are removed once read: only artefacts stay in the temp folder.
    let t = inv.temp_dir().expect("temp");
    assert!(disk_use(t) <= budget);
}

/// An xz bomb: `scan` and `analyze` stay within bounded memory; the artefact stops at the budget.
#[cfg(unix)]
#[test]
fn an_xz_bomb_stays_in_bounded_memory() {
    let case = tempfile::tempdir().expect("case");
    let tmp = tempfile::tempdir().expect("tmp");
    // Multi-stream xz: one 64 MiB stream (a PML head, then zeros), then 31 of zeros = 2 GiB.
    let first = xz(&pml_head_then_zeros(64 << 20));
    let rest = xz(&vec![0u8; 64 << 20]).repeat(31);
    let bomb = [first, rest].concat();
    assert!(bomb.len() < 1_000_000, "{}", bomb.len());
    std::fs::write(case.path().join("Bootlog.pml.xz"), &bomb).expect("write");
    let case_arg = case.path().to_str().expect("utf-8");
    let run = run_bsodwb(&["scan", case_arg], tmp.path(), &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.max_rss_kib < 64 * 1024, "scan: {} KiB", run.max_rss_kib);
    assert!(run.stdout.contains("procmon-log"), "{}", run.stdout);
    let run = run_bsodwb(
        &["analyze", case_arg],
        tmp.path(),
        &[("BSODWB_MAX_CASE_INFLATE", "100000000")],
    );
    assert!(run.code.is_some(), "analyze killed: {}", run.stderr);
    assert!(
        run.max_rss_kib < 128 * 1024,
        "analyze: {} KiB",
        run.max_rss_kib
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("budget"), "{all}");
    assert!(
        std::fs::read_dir(tmp.path()).expect("ls").next().is_none(),
        "the temp folder is removed at exit"
    );
}

/// Every wrapper cut short keeps what inflated and names the offset where it stopped.
#[test]
fn streams_cut_short_hand_on_what_inflated() {
    let content = pml_head_then_noise(1 << 20);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    zlib.write_all(&content).expect("zlib");
    let zlib = zlib.finish().expect("zlib");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&content).expect("gz");
    let gz = gz.finish().expect("gz");
    let xz = xz(&content);
    for (name, packed) in [
        ("Bootlog.pml", zlib),
        ("Bootlog.pml.gz", gz),
        ("Bootlog.pml.xz", xz),
    ] {
        let case = tempfile::tempdir().expect("case");
        std::fs::write(case.path().join(name), &packed[..packed.len() / 2]).expect("write");
        let inv = discover(case.path(), Limits::from_env());
        let f = inv
            .files
            .first()
            .unwrap_or_else(|| panic!("{name}: {}", problems(&inv)));
        assert_eq!(f.kind, Kind::ProcmonLog, "{name}");
        let local = f
            .local
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: not inflated"));
        let got = std::fs::read(local).expect("read");
        assert!(
            got.len() > 256 << 10 && got.len() < content.len(),
            "{name}: {}",
            got.len()
        );
        assert_eq!(
            got,
            content[..got.len()],
            "{name}: the inflated prefix is exact"
        );
        let p = inv
            .problems
            .iter()
            .find(|p| p.path == name && p.message.contains("cut short"))
            .unwrap_or_else(|| panic!("{name}: {}", problems(&inv)));
        assert!(
            p.message.contains(&format!("offset {}", got.len())),
            "{name}: {}",
            p.message
        );
    }
}

/// A real Procmon log stored as a raw zlib stream, cut in half, still loads as the boot log.
#[test]
fn a_cut_raw_zlib_pml_loads_what_it_can() {
    let src = sample_or_skip!("procmon-parser/compressed/CompressedLogfileTests64bitUTCPML");
    let bytes = std::fs::read(src).expect("read");
    let case = tempfile::tempdir().expect("case");
    std::fs::write(case.path().join("Bootlog.pml"), &bytes[..bytes.len() / 2]).expect("write");
    let case = Case::load(case.path(), &mut |_| {}).expect("load");
    let log = case.boot_log.as_ref().expect("the cut log is loaded");
    assert!(log.len() > 1000, "{}", log.len());
    assert!(
        case.problems
            .iter()
            .any(|p| p.path == "Bootlog.pml" && p.message.contains("zlib stream cut short")),
        "{:#?}",
        case.problems
    );
}

#[cfg(unix)]
#[test]
fn the_temp_folder_is_private_and_removed() {
    use std::os::unix::fs::PermissionsExt;
    let case = tempfile::tempdir().expect("case");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pml_head_then_zeros(4096)).expect("gz");
    std::fs::write(case.path().join("Bootlog.pml.gz"), gz.finish().expect("gz")).expect("write");
    let inv = discover(case.path(), Limits::from_env());
    let temp: PathBuf = inv.temp_dir().expect("temp").to_path_buf();
    let name = temp
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("bsodwb-case-{}-", std::process::id())),
        "{name}"
    );
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&temp), 0o700);
    let local = inv.files[0].local.clone().expect("inflated");
    assert_eq!(mode(&local), 0o600);
    assert_eq!(mode(local.parent().expect("dir")), 0o700);
    drop(inv);
    assert!(!temp.exists(), "removed with the inventory");
}

#[cfg(unix)]
#[test]
fn folders_of_dead_processes_are_removed_at_the_next_start() {
    let base = tempfile::tempdir().expect("base");
    let mut child = std::process::Command::new("true").spawn().expect("true");
    let dead = child.id();
    child.wait().expect("wait");
    let stale = base.path().join(format!("bsodwb-case-{dead}-abc123"));
    std::fs::create_dir_all(stale.join("1")).expect("mkdir");
    std::fs::write(stale.join("1/MEMORY.DMP"), b"PAGEDU64").expect("write");
    let alive = base
        .path()
        .join(format!("bsodwb-case-{}-def456", std::process::id()));
    std::fs::create_dir_all(&alive).expect("mkdir");
    let other = base.path().join("bsodwb-case-notapid");
    std::fs::create_dir_all(&other).expect("mkdir");
    // pid 1 lives, but its folder's lock is not held: the pid was reused, the folder is stale.
    let reused = base.path().join("bsodwb-case-1-ghi789");
    std::fs::create_dir_all(&reused).expect("mkdir");
    std::fs::write(reused.join(".lock"), b"").expect("lock file");
    let two_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(120);
    std::fs::File::open(&reused)
        .and_then(|d| d.set_modified(two_minutes_ago))
        .expect("age the folder");
    // A folder of this process, made the normal way, holds its lock: another process's sweep
    // (same effect as ours from a clone with another pid) keeps it.
    let held = case::temp::CaseTemp::create().expect("create");
    let held_copy = base.path().join("bsodwb-case-1-held");
    std::fs::create_dir_all(&held_copy).expect("mkdir");
    std::os::unix::fs::symlink(held.path().join(".lock"), held_copy.join(".lock")).expect("ln");
    assert_eq!(case::temp::remove_stale(base.path()), 2);
    assert!(!stale.exists());
    assert!(!reused.exists());
    assert!(held_copy.exists(), "a held lock means a live owner");
    assert!(alive.exists(), "a live process keeps its folder");
    assert!(
        other.exists(),
        "folders without a pid are not ours to judge"
    );
}

/// A mapped file that shrinks reads as zeros and is flagged; the process lives.
#[cfg(unix)]
#[test]
fn a_mapped_file_that_shrinks_reads_as_zeros() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("Bootlog.pml");
    let page = 4096usize;
    std::fs::write(&path, vec![0xabu8; 16 * page]).expect("write");
    let bytes = bsod_workbench::mapped::Bytes::open(&path).expect("map");
    assert_eq!(bytes[10 * page], 0xab);
    assert!(!bytes.changed_while_open());
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    f.set_len(2 * page as u64).expect("truncate");
    // Without the guard this read kills the process with SIGBUS.
    let sum: u64 = bytes[4 * page..].iter().map(|b| u64::from(*b)).sum();
    assert_eq!(sum, 0, "the lost range reads as zeros");
    assert_eq!(bytes[page], 0xab, "what is still in the file is intact");
    assert!(bytes.changed_while_open());
    let changed = bsod_workbench::mapped::take_changed();
    let c = changed
        .iter()
        .find(|c| c.path == path)
        .expect("reported once");
    assert!(c.offset >= 2 * page as u64, "{}", c.offset);
    assert!(c.to_string().contains("changed while open"));
    assert!(
        !bsod_workbench::mapped::take_changed()
            .iter()
            .any(|c| c.path == path),
        "reported only once"
    );
}

/// The loading screen's counts: files and bytes per artefact, never going backwards, complete
/// at the end.
#[test]
fn load_progress_counts_files_and_bytes_and_never_goes_back() {
    let case = tempfile::tempdir().expect("case");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pml_head_then_noise(3 << 20)).expect("gz");
    std::fs::write(case.path().join("Bootlog.pml.gz"), gz.finish().expect("gz")).expect("write");
    std::fs::write(case.path().join("notes.txt"), b"hello").expect("write");
    std::fs::write(case.path().join("other.bin"), vec![7u8; 5 << 20]).expect("write");
    let mut seen: Vec<case::LoadProgress> = Vec::new();
    let _case = Case::load(case.path(), &mut |p| seen.push(p)).expect("load");
    assert!(seen.len() > 3, "{}", seen.len());
    for pair in seen.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(b.done >= a.done && b.total >= a.total);
        for (x, y) in a.artefacts.iter().zip(&b.artefacts) {
            assert!(
                y.files_done >= x.files_done && y.bytes_done >= x.bytes_done,
                "{x:?} -> {y:?}"
            );
        }
    }
    let last = seen.last().expect("progress");
    let files = &last.artefacts[0];
    assert_eq!(files.name, "case files");
    assert_eq!((files.files_done, files.files_total), (3, 3));
    let on_disk = disk_use(case.path());
    assert_eq!((files.bytes_done, files.bytes_total), (on_disk, on_disk));
    let boot = last
        .artefacts
        .iter()
        .find(|a| a.name == "boot log")
        .expect("row");
    assert_eq!((boot.files_done, boot.files_total), (1, 1));
    assert_eq!(
        boot.bytes_total,
        3 << 20,
        "the inflated size is what is parsed"
    );
    assert_eq!(boot.bytes_done, boot.bytes_total);
    // Some update came while the 5 MiB file was part read or before it.
    assert!(
        seen.iter()
            .any(|p| p.artefacts[0].bytes_done > 0 && p.artefacts[0].bytes_done < on_disk)
    );
}

/// `analyze` interrupted (SIGINT, SIGQUIT) while it inflates: the temp folder is removed and the
/// exit code is 128 + the signal.
#[cfg(unix)]
#[test]
fn a_signal_during_cli_inflation_removes_the_temp_folder() {
    let case = tempfile::tempdir().expect("case");
    let mut member = pml_head_then_zeros(64 << 20);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&member).expect("gz");
    let first = gz.finish().expect("gz");
    member[..12].fill(0);
    let rest = gzip_members(&member, 63);
    std::fs::write(case.path().join("Bootlog.pml.gz"), [first, rest].concat()).expect("write");
    for (signal, signo) in [("INT", 2), ("QUIT", 3)] {
        let tmp = tempfile::tempdir().expect("tmp");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bsodwb"))
            .args(["analyze".as_ref(), case.path().as_os_str()])
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("bsodwb");
        let start = Instant::now();
        while std::fs::read_dir(tmp.path()).expect("ls").next().is_none() {
            assert!(start.elapsed() < Duration::from_secs(20), "no temp folder");
            std::thread::sleep(Duration::from_millis(5));
        }
        let sent = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(128 + signo), "{signal}: {status:?}");
        assert!(
            std::fs::read_dir(tmp.path()).expect("ls").next().is_none(),
            "{signal}: the temp folder is removed"
        );
    }
}

/// `scan` writes nothing anywhere, even for a zip inside a gzip stream (which opening the case
/// has to write to read) and for artefacts behind compression.
#[cfg(unix)]
#[test]
fn scan_never_writes() {
    use zip::write::SimpleFileOptions;
    let case = tempfile::tempdir().expect("case");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    z.start_file("Bootlog.pml", SimpleFileOptions::default())
        .expect("entry");
    z.write_all(&pml_head_then_zeros(1 << 20)).expect("write");
    let zip = z.finish().expect("zip").into_inner();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&zip).expect("gz");
    std::fs::write(case.path().join("logs.zip.gz"), gz.finish().expect("gz")).expect("write");
    std::fs::write(
        case.path().join("Bootlog.pml.xz"),
        xz(&pml_head_then_zeros(1 << 20)),
    )
    .expect("write");
    let before = disk_use(case.path());
    let run = run_bsodwb(
        &["scan", case.path().to_str().expect("utf-8")],
        tmp.path(),
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("zip inside a gzip stream"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("procmon-log"), "{}", run.stdout);
    assert!(
        std::fs::read_dir(tmp.path()).expect("ls").next().is_none(),
        "scan wrote to TMPDIR"
    );
    assert_eq!(disk_use(case.path()), before, "scan wrote into the case");
    // Opening the case looks inside: the entry of the zip in the gzip is inflated.
    let inv = discover(case.path(), Limits::from_env());
    assert!(
        inv.files
            .iter()
            .any(|f| f.path == "logs.zip.gz!Bootlog.pml" && f.local.is_some()),
        "{:#?}",
        inv.files
    );
}
