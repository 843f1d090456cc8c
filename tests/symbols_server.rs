//! Symbol servers over HTTP: a server on 127.0.0.1 started by each test serves a symbol store built
//! from the real windows-seh-tests programs and their PDBs (plain files, CAB-compressed `.pd_`
//! made by gcab when installed, a `file.ptr` redirect, a two-tier store, a 404 and a slow
//! answer). A synthetic minidump of a real call between two xcpt4.exe functions gets its frames
//! named from the downloaded PDB; a second run is served from the cache with the server gone;
//! without a `srv*` element no connection is made.

mod common;

use bsod_workbench::analysis::CaseAnalysis;
use bsod_workbench::dump::{self, analysis::FrameMethod};
use bsod_workbench::pe::{Layout, Pe};
use bsod_workbench::symbols::fetch::{self, FetchOptions};
use bsod_workbench::symbols::server::{ServerOptions, SymbolServer};
use bsod_workbench::symbols::{ModuleRef, SymbolPath, SymbolSource, Symbolizer};
use bsod_workbench::synth::minidump::{self, MinidumpModule, UserMinidump};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BASE: u64 = 0x1_4000_0000;

#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    /// Wait this long before answering (404).
    Slow(Duration),
}

/// A small HTTP/1.1 server: GET only, `Connection: close`, one thread per connection.
struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    files: Arc<Mutex<HashMap<String, Reply>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(files: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let files = Arc::new(Mutex::new(files));
        let (a, l, s, f) = (accepted.clone(), log.clone(), stop.clone(), files.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !s.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((conn, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let (files, log) = (f.clone(), l.clone());
                        std::thread::spawn(move || serve(conn, &files, &log));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            port,
            accepted,
            log,
            stop,
            files,
            thread: Some(thread),
        }
    }
    fn put(&self, path: String, reply: Reply) {
        self.files.lock().unwrap().insert(path, reply);
    }
    fn url(&self, root: &str) -> String {
        format!("http://127.0.0.1:{}/{root}", self.port)
    }
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
    fn requested(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(conn: TcpStream, files: &Mutex<HashMap<String, Reply>>, log: &Mutex<Vec<String>>) {
    conn.set_nonblocking(false).ok();
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
    log.lock().unwrap().push(path.clone());
    let mut conn = conn;
    let reply = files.lock().unwrap().get(&path).cloned();
    match reply.as_ref() {
        Some(Reply::Body(b)) => {
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                b.len()
            );
            let _ = conn.write_all(b);
        }
        Some(Reply::Slow(d)) => {
            std::thread::sleep(*d);
            let _ = conn.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        None => {
            let _ = conn.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
    let _ = conn.flush();
}

/// A CAB holding `file` (MSZIP): gcab when installed (an independent writer), else the cab
/// crate's writer.
fn cab_of(file: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.cab");
    let gcab = std::process::Command::new("gcab")
        .arg("-c")
        .arg("-z")
        .arg("-n")
        .arg(&out)
        .arg(file)
        .output();
    match gcab {
        Ok(o) if o.status.success() => return std::fs::read(&out).unwrap(),
        _ if std::env::var("BSODWB_REQUIRE_ORACLES").as_deref() == Ok("1") => {
            panic!("gcab (Debian package gcab) is required (BSODWB_REQUIRE_ORACLES=1)")
        }
        _ => eprintln!("SKIP: gcab not installed; the CAB is written by the cab crate"),
    }
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let mut b = cab::CabinetBuilder::new();
    b.add_folder(cab::CompressionType::MsZip).add_file(name);
    let mut w = b.build(std::io::Cursor::new(Vec::new())).unwrap();
    while let Some(mut f) = w.next_file().unwrap() {
        f.write_all(&std::fs::read(file).unwrap()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

struct Program {
    exe: PathBuf,
    pdb: PathBuf,
    timestamp: u32,
    size: u32,
    image_key: String,
    pdb_key: String,
    pdb_name: String,
}

fn program(samples: &Path, name: &str) -> Program {
    let exe = samples.join(format!("{name}.exe"));
    let bytes = std::fs::read(&exe).unwrap();
    let pe = Pe::parse(&bytes, Layout::File).unwrap();
    let cv = pe.codeview().unwrap();
    Program {
        pdb: samples.join(format!("{name}.pdb")),
        timestamp: pe.timestamp(),
        size: pe.size_of_image(),
        image_key: format!("{:08X}{:x}", pe.timestamp(), pe.size_of_image()),
        pdb_key: cv.store_key(),
        pdb_name: cv.pdb_name().to_string(),
        exe,
    }
}

/// A user-mode minidump stopped at the first instruction of an xcpt4.exe function called
/// directly from another: two real frames. Returns the dump and (callee, return) RVAs.
fn xcpt4_minidump(p: &Program, nested: &Program) -> (Vec<u8>, u32, u32) {
    let bytes = std::fs::read(&p.exe).unwrap();
    let pe = Pe::parse(&bytes, Layout::File).unwrap();
    let calls = minidump::direct_calls(&pe);
    assert!(calls.len() > 10, "xcpt4.exe has direct calls");
    let (callee, ret) = calls[calls.len() / 2];
    let rsp = 0x7ff0_0000_0000u64 - 0x1008;
    let mut stack = (BASE + u64::from(ret)).to_le_bytes().to_vec();
    stack.resize(0x800, 0);
    let spec = UserMinidump {
        modules: vec![
            MinidumpModule {
                path: "C:\\tests\\xcpt4.exe".into(),
                base: BASE,
                size: p.size,
                timestamp: p.timestamp,
                checksum: 0,
            },
            MinidumpModule {
                path: "C:\\tests\\nested_collided.exe".into(),
                base: BASE + 0x100_0000,
                size: nested.size,
                timestamp: nested.timestamp,
                checksum: 0,
            },
        ],
        rip: BASE + u64::from(callee),
        rsp,
        stack,
        exception_code: 0xc000_0005,
        thread_id: 0x1234,
    };
    (minidump::write_user_minidump(&spec), callee, ret)
}

/// The names the PDBs give, read straight from the samples folder (no server).
fn local_name(p: &Program, rva: u32) -> (String, u64) {
    let dir = p.exe.parent().unwrap().to_path_buf();
    let sym = Symbolizer::new(&SymbolPath::parse(""), &[dir]);
    let m = ModuleRef::new("xcpt4.exe", p.timestamp, p.size);
    let s = sym.symbolize(&m, rva).expect("the PDB names it");
    (s.name, s.offset)
}

fn quick() -> ServerOptions {
    ServerOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(300),
        retries: 1,
        backoff: Duration::from_millis(20),
        max_download: 64 << 20,
        parallel: 4,
        negative_ttl: Duration::from_secs(3600),
        default_cache: PathBuf::from("/nonexistent/default-cache"),
    }
}

#[test]
fn minidump_frames_named_from_downloaded_symbols_then_from_the_cache() {
    let exe = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let samples = exe.parent().unwrap();
    let x = program(samples, "xcpt4");
    let n = program(samples, "nested_collided");
    let server = Server::start(HashMap::new());
    let url = server.url("sym");
    // xcpt4.exe plain; xcpt4.pdb only CAB-compressed.
    server.put(
        format!("/sym/xcpt4.exe/{}/xcpt4.exe", x.image_key),
        Reply::Body(std::fs::read(&x.exe).unwrap()),
    );
    server.put(
        format!("/sym/{}/{}/xcpt4.pd_", x.pdb_name, x.pdb_key),
        Reply::Body(cab_of(&x.pdb)),
    );
    // nested_collided.exe through a file.ptr pointing to another URL; its PDB plain.
    let elsewhere = "/elsewhere/nested_collided.exe".to_string();
    server.put(
        elsewhere.clone(),
        Reply::Body(std::fs::read(&n.exe).unwrap()),
    );
    server.put(
        format!("/sym/nested_collided.exe/{}/file.ptr", n.image_key),
        Reply::Body(format!("PATH:http://127.0.0.1:{}{elsewhere}\r\n", server.port).into_bytes()),
    );
    server.put(
        format!("/sym/{0}/{1}/{0}", n.pdb_name, n.pdb_key),
        Reply::Body(std::fs::read(&n.pdb).unwrap()),
    );
    let mut server = server;

    let t = tempfile::tempdir().unwrap();
    let cache = t.path().join("cache");
    let case = t.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    let (mdmp, callee, ret) = xcpt4_minidump(&x, &n);
    let dmp_path = case.join("app.dmp");
    std::fs::write(&dmp_path, &mdmp).unwrap();
    let d = dump::open(&dmp_path).unwrap();
    let path = SymbolPath::parse(&format!("srv*{}*{url}", cache.display()));
    let progress = Arc::new(Mutex::new(Vec::new()));
    let pl = progress.clone();
    let opts = |progress: bool| FetchOptions {
        path: path.clone(),
        folders: vec![case.clone()],
        server: quick(),
        progress: progress.then(|| {
            let pl = pl.clone();
            Arc::new(move |p: &bsod_workbench::symbols::server::Progress| {
                pl.lock().unwrap().push(p.line())
            }) as bsod_workbench::symbols::server::ProgressFn
        }),
        max_frames: 16,
    };

    // Offline the frames have no names (no image, no PDB at hand).
    let offline =
        Symbolizer::with_default_cache(&SymbolPath::parse(""), std::slice::from_ref(&case), &cache);
    let a0 = dump::analysis::analyze(
        &d,
        &dump::analysis::AnalyzeOptions {
            symbols: Some(&offline),
            ..Default::default()
        },
    );
    assert!(
        a0.stack.iter().all(|f| f.symbol.is_none()),
        "{:#?}",
        a0.stack
    );

    let got = fetch::analyze(&d, &opts(true));
    let a = &got.analysis;
    assert!(a.stack.len() >= 2, "{:#?} {:?}", a.stack, a.warnings);
    let want0 = local_name(&x, callee);
    let want1 = local_name(&x, ret);
    assert_eq!(want0.1, 0, "the callee starts a function");
    assert_eq!(a.stack[0].symbol.as_deref(), Some(want0.0.as_str()));
    assert_eq!(a.stack[0].symbol_offset, Some(0));
    assert_eq!(a.stack[0].method, FrameMethod::Unwind);
    assert_eq!(a.stack[1].symbol.as_deref(), Some(want1.0.as_str()));
    assert_eq!(a.stack[1].symbol_offset, Some(want1.1));
    assert_eq!(a.stack[1].return_address, 0, "zeros end the stack");
    assert_eq!(
        a.stack[1].call_site,
        format!("xcpt4!{}+{:#x}", want1.0, want1.1)
    );
    assert!(
        a.images
            .iter()
            .any(|(m, from)| m == "xcpt4.exe" && from.contains("cache"))
    );
    // Stored in the downstream store, in the store layout, byte for byte.
    let stored_exe = cache.join(format!("xcpt4.exe/{}/xcpt4.exe", x.image_key));
    let stored_pdb = cache.join(format!("{0}/{1}/{0}", x.pdb_name, x.pdb_key));
    assert_eq!(
        std::fs::read(&stored_exe).unwrap(),
        std::fs::read(&x.exe).unwrap()
    );
    assert_eq!(
        std::fs::read(&stored_pdb).unwrap(),
        std::fs::read(&x.pdb).unwrap()
    );
    // No temporary files left behind.
    for dir in [stored_exe.parent().unwrap(), stored_pdb.parent().unwrap()] {
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            1,
            "{}",
            dir.display()
        );
    }
    let lines = progress.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("xcpt4.pdb") && l.contains("stored")),
        "{lines:?}"
    );
    // The PDB was asked for plain first, then as the CAB.
    let asked = server.requested();
    let plain = format!("/sym/{0}/{1}/{0}", x.pdb_name, x.pdb_key);
    let cab = format!("/sym/{}/{}/xcpt4.pd_", x.pdb_name, x.pdb_key);
    let pos = |p: &str| asked.iter().position(|a| a == p);
    assert!(pos(&plain) < pos(&cab) && pos(&cab).is_some(), "{asked:?}");

    // nested_collided.exe through its file.ptr, then its PDB, via the symbolizer directly.
    let sym = Symbolizer::with_default_cache(&path, &[], &cache)
        .with_server(SymbolServer::from_path(&path, quick()));
    let m = ModuleRef::new("nested_collided.exe", n.timestamp, n.size);
    let ms = sym.module_symbols(&m);
    assert_eq!(ms.source, Some(SymbolSource::Pdb), "{:?}", ms.notes);
    assert!(asked.iter().all(|a| a != &elsewhere), "not fetched before");
    assert!(server.requested().contains(&elsewhere));
    let stored = cache.join(format!(
        "nested_collided.exe/{}/nested_collided.exe",
        n.image_key
    ));
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(&n.exe).unwrap()
    );

    // The server goes away: the second run is served from the cache, without a request.
    server.stop();
    let before = server.accepted();
    let again = fetch::analyze(&d, &opts(false));
    assert_eq!(again.requests, 0);
    assert_eq!(server.accepted(), before);
    assert_eq!(again.analysis.stack[0].symbol, a.stack[0].symbol);
    assert_eq!(again.analysis.stack[1].call_site, a.stack[1].call_site);
}

#[test]
fn two_tier_store_miss_remembered_and_slow_server_bounded() {
    let exe = sample_or_skip!("windows-seh-tests/nested_collided.exe");
    let samples = exe.parent().unwrap();
    let n = program(samples, "nested_collided");
    let mut files = HashMap::new();
    files.insert("/tier/index2.txt".to_string(), Reply::Body(b"".to_vec()));
    files.insert(
        format!("/tier/ne/{0}/{1}/{0}", n.pdb_name, n.pdb_key),
        Reply::Body(std::fs::read(&n.pdb).unwrap()),
    );
    files.insert(
        "/slow/index2.txt".to_string(),
        Reply::Slow(Duration::from_secs(3)),
    );
    let server = Server::start(files);
    let t = tempfile::tempdir().unwrap();
    // A two-tier downstream store: what comes down is written two-tier too.
    let cache = t.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("index2.txt"), b"").unwrap();
    let path = SymbolPath::parse(&format!("srv*{}*{}", cache.display(), server.url("tier")));
    let bytes = std::fs::read(&n.exe).unwrap();
    let cv = Pe::parse(&bytes, Layout::File).unwrap().codeview().unwrap();
    let sym = Symbolizer::with_default_cache(&path, &[], &cache)
        .with_server(SymbolServer::from_path(&path, quick()));
    let got = sym.find_pdb(&cv).expect("the two-tier server has it");
    assert_eq!(
        got,
        cache.join(format!("ne/{0}/{1}/{0}", n.pdb_name, n.pdb_key))
    );
    assert!(server.requested().contains(&"/tier/index2.txt".to_string()));

    // A PDB the server lacks: 404 for the file, the CAB and file.ptr; remembered on disk.
    let mut other = cv.clone();
    other.age += 7;
    assert_eq!(sym.find_pdb(&other), None);
    let misses = server
        .requested()
        .iter()
        .filter(|r| r.contains(&other.store_key()))
        .count();
    assert_eq!(misses, 3, "{:?}", server.requested());
    // A new client (a new run) does not ask again.
    let sym2 = Symbolizer::with_default_cache(&path, &[], &cache)
        .with_server(SymbolServer::from_path(&path, quick()));
    let before = server.accepted();
    assert_eq!(sym2.find_pdb(&other), None);
    assert_eq!(server.accepted(), before, "the miss is remembered");
    assert_eq!(sym2.find_pdb(&cv).as_ref(), Some(&got), "the hit is cached");
    assert_eq!(server.accepted(), before);

    // A file.ptr with MSG: a miss with the server's reason (control characters replaced).
    server.put(
        "/tier/se/secret.pdb/ABC1/file.ptr".into(),
        Reply::Body(b"MSG: withheld by policy\x1b[2J\r\n".to_vec()),
    );
    let s = SymbolServer::from_path(&path, quick()).unwrap();
    assert_eq!(s.fetch("secret.pdb", "ABC1", &|_| true), None);
    let notes = s.notes();
    assert!(
        notes.iter().any(|n| n.contains("withheld by policy?[2J")),
        "{notes:?}"
    );
    assert!(notes.iter().all(|n| !n.contains('\x1b')));

    // A server that answers nothing for 3 s: the 300 ms read timeout and one retry give up fast,
    // and the failure is not remembered as a miss.
    let slow = SymbolPath::parse(&format!(
        "srv*{}*{}",
        t.path().join("c2").display(),
        server.url("slow")
    ));
    let s = SymbolServer::from_path(&slow, quick()).unwrap();
    let started = Instant::now();
    assert_eq!(s.fetch("x.pdb", "ABC1", &|_| true), None);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        s.notes().iter().any(|n| n.contains("slow")),
        "{:?}",
        s.notes()
    );
    assert!(!t.path().join("c2/.bsodwb-misses").exists());
}

#[test]
fn no_server_element_opens_no_socket_and_the_cli_says_which_path_would_name_frames() {
    let exe = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let samples = exe.parent().unwrap();
    let x = program(samples, "xcpt4");
    let n = program(samples, "nested_collided");
    let mut files = HashMap::new();
    files.insert(
        format!("/sym/xcpt4.exe/{}/xcpt4.exe", x.image_key),
        Reply::Body(std::fs::read(&x.exe).unwrap()),
    );
    files.insert(
        format!("/sym/{0}/{1}/{0}", x.pdb_name, x.pdb_key),
        Reply::Body(std::fs::read(&x.pdb).unwrap()),
    );
    let server = Server::start(files);
    let t = tempfile::tempdir().unwrap();
    let case = t.path().join("case");
    std::fs::create_dir_all(&case).unwrap();
    let (mdmp, callee, _) = xcpt4_minidump(&x, &n);
    let dmp = case.join("app.dmp");
    std::fs::write(&dmp, &mdmp).unwrap();
    let config = t.path().join("config.toml");
    let bin = env!("CARGO_BIN_EXE_bsodwb");
    let run = |symbols: &str| {
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("dump").arg(&dmp);
        if !symbols.is_empty() {
            cmd.arg("--symbols").arg(symbols);
        }
        let out = cmd
            .env_remove("_NT_SYMBOL_PATH")
            .env_remove("_NT_ALT_SYMBOL_PATH")
            .env("BSODWB_CONFIG", &config)
            .env("XDG_CACHE_HOME", t.path().join("xdg"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // Local folders and caches only (the config file names no path either).
    std::fs::write(&config, "[symbols]\nretries = 0\n").unwrap();
    let local = format!(
        "cache*{};{}",
        t.path().join("c").display(),
        t.path().join("plain").display()
    );
    let (name, _) = local_name(&x, callee);
    let (stdout, stderr) = run(&local);
    assert_eq!(server.accepted(), 0, "no connection without a srv* element");
    assert!(stdout.contains("xcpt4+0x"), "{stdout}");
    assert!(!stdout.contains(&format!("xcpt4!{name}")), "{stdout}");
    assert!(
        stderr.contains("srv*") && stderr.contains("https://msdl.microsoft.com/download/symbols"),
        "{stderr}"
    );
    // The same dump with the server named: WinDbg-style named frames, progress on stderr.
    let (stdout, stderr) = run(&format!(
        "srv*{}*{}",
        t.path().join("c").display(),
        server.url("sym")
    ));
    assert!(server.accepted() > 0);
    assert!(stdout.contains(&format!("xcpt4!{name}")), "{stdout}");
    assert!(
        stderr.contains("xcpt4.pdb") && stderr.contains("stored"),
        "{stderr}"
    );
    assert!(!stderr.contains("would name them"), "{stderr}");
    // No --symbols and no _NT_SYMBOL_PATH: the config file's path, here with a new cache.
    std::fs::write(
        &config,
        format!(
            "[symbols]\npath = 'srv*{}*{}'\n",
            t.path().join("c3").display(),
            server.url("sym")
        ),
    )
    .unwrap();
    let before = server.accepted();
    let (stdout, _) = run("");
    assert!(server.accepted() > before);
    assert!(stdout.contains(&format!("xcpt4!{name}")), "{stdout}");
    assert!(t.path().join("c3").join(&x.pdb_name).is_dir());
}

#[test]
fn dump_pane_downloads_on_a_worker_and_redraws_named_frames() {
    use bsod_workbench::case::{Case, DumpArtefact};
    use bsod_workbench::ui::pane::{Pane, PaneContext};
    use bsod_workbench::ui::panes::dump::DumpPane;
    use bsod_workbench::ui::theme::Theme;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    let exe = sample_or_skip!("windows-seh-tests/xcpt4.exe");
    let samples = exe.parent().unwrap();
    let x = program(samples, "xcpt4");
    let n = program(samples, "nested_collided");
    let server = Server::start(HashMap::new());
    // The image comes at once; the PDB only after a second, so the pane is seen mid-download.
    server.put(
        format!("/sym/xcpt4.exe/{}/xcpt4.exe", x.image_key),
        Reply::Body(std::fs::read(&x.exe).unwrap()),
    );
    server.put(
        "/sym/index2.txt".into(),
        Reply::Slow(Duration::from_millis(1000)),
    );
    server.put(
        format!("/sym/{0}/{1}/{0}", x.pdb_name, x.pdb_key),
        Reply::Body(std::fs::read(&x.pdb).unwrap()),
    );
    let t = tempfile::tempdir().unwrap();
    let (mdmp, callee, _) = xcpt4_minidump(&x, &n);
    let dmp = t.path().join("app.dmp");
    std::fs::write(&dmp, &mdmp).unwrap();
    let d = dump::open(&dmp).unwrap();
    let a = dump::analysis::analyze(&d, &dump::analysis::AnalyzeOptions::default());
    let case = Case {
        dumps: vec![DumpArtefact {
            file: "app.dmp".into(),
            dump: d,
            analysis: a,
        }],
        ..Case::default()
    };
    let draw = |pane: &mut DumpPane| {
        let theme = Theme::ansi16();
        let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
        term.draw(|f| {
            let ctx = PaneContext {
                case: &case,
                analysis: &CaseAnalysis::build(&case),
                focus: None,
                theme: &theme,
            };
            pane.render(f, f.area(), &ctx);
        })
        .unwrap();
        format!("{}", term.backend())
    };
    // Without a server: the pane says which symbol path would name the frames.
    let mut offline = DumpPane::with_symbols(&case, SymbolPath::parse(""), quick());
    let screen = draw(&mut offline);
    assert!(screen.contains("_NT_SYMBOL_PATH=srv*"), "{screen}");
    assert_eq!(server.accepted(), 0);

    let mut opts = quick();
    opts.read_timeout = Duration::from_secs(5);
    let path = SymbolPath::parse(&format!(
        "srv*{}*{}",
        t.path().join("cache").display(),
        server.url("sym")
    ));
    let mut pane = DumpPane::with_symbols(&case, path, opts);
    // Ticks and frames never wait for the network.
    let started = Instant::now();
    pane.tick();
    let first = draw(&mut pane);
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(first.contains("symbols:"), "{first}");
    let (name, _) = local_name(&x, callee);
    assert!(!first.contains(&format!("xcpt4!{name}")), "{first}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut screen = first;
    while !screen.contains(&format!("xcpt4!{name}")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        if pane.tick() {
            screen = draw(&mut pane);
        }
        assert!(t0.elapsed() < Duration::from_millis(200), "a tick waited");
    }
    assert!(screen.contains(&format!("xcpt4!{name}")), "{screen}");
    assert!(screen.contains("every frame named"), "{screen}");
}
