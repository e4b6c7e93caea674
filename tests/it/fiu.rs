//! Injected I/O faults with libfiu (Debian's `fiu-utils`): child processes
//! run under `fiu-run -x`, which preloads libfiu's POSIX wrappers, and turn
//! the fault points on and off themselves through libfiu's C API, found with
//! `dlsym` in the preloaded library. Each fault is decided by a seeded
//! random number generator of the child's own (`fiu_enable_external`), so a
//! run can be told apart by its seed, and each injected fault is counted.
//!
//! The points used, and the calls of Rust's std behind them on Linux:
//! `posix/io/rw/write` (`write`: every append, `write_all`),
//! `posix/io/rw/write/reduce` (a short `write`), `posix/io/sync/fdatasync`
//! (`File::sync_data`), `posix/io/dir/rename` (`fs::rename`),
//! `posix/io/dir/unlink` (`fs::remove_file`), `posix/io/oc/open`
//! (`open64`: every `File::open` and `OpenOptions::open`),
//! `posix/io/rw/ftruncate` (`ftruncate64`: `File::set_len`). `flock` is a
//! raw system call (through `fs4`/rustix) and cannot be injected here.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The fault points a child can turn on, in the order of its probabilities.
pub const POINTS: [&str; 7] = [
    "posix/io/rw/write",
    "posix/io/rw/write/reduce",
    "posix/io/sync/fdatasync",
    "posix/io/dir/rename",
    "posix/io/dir/unlink",
    "posix/io/oc/open",
    "posix/io/rw/ftruncate",
];

/// `fiu-run`, if installed. Under CI (the `CI` variable set) its absence
/// fails the test; elsewhere the test says once that it skipped.
pub fn fiu_run() -> Option<PathBuf> {
    let found = ["/usr/bin/fiu-run", "/usr/local/bin/fiu-run"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "fiu-run is missing: install Debian's fiu-utils (.ci/run does)"
        );
        static NOTE: std::sync::Once = std::sync::Once::new();
        NOTE.call_once(|| {
            eprintln!(
                "SKIPPED: fiu-run not found; install fiu-utils to run the injected-fault tests"
            );
        });
    }
    found
}

/// The command that runs this test binary's child `role` under `fiu-run -x`,
/// with remote control off (the child drives libfiu itself).
pub fn fiu_child(fiu_run: &Path, role: &str, env: &[(&str, String)]) -> Command {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(fiu_run);
    cmd.args(["-x", "-f", ""])
        .arg(exe)
        .args(crate::util::CHILD_ARGS)
        .env("CLH_CHILD_ROLE", role)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A seed from the environment (`CLH_FIU_SEED`, to repeat a run) or the clock.
pub fn seed() -> u64 {
    std::env::var("CLH_FIU_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

// ---- In the child -------------------------------------------------------

type ExternalCb = unsafe extern "C" fn(
    name: *const c_char,
    failnum: *mut c_int,
    failinfo: *mut *mut c_void,
    flags: *mut c_uint,
) -> c_int;
type EnableExternal =
    unsafe extern "C" fn(*const c_char, c_int, *mut c_void, c_uint, ExternalCb) -> c_int;
type Disable = unsafe extern "C" fn(*const c_char) -> c_int;

/// Per point: the probability of a fault in millionths, and the faults
/// injected so far.
static PROBABILITY: [AtomicU32; POINTS.len()] = [const { AtomicU32::new(0) }; POINTS.len()];
static INJECTED: [AtomicU64; POINTS.len()] = [const { AtomicU64::new(0) }; POINTS.len()];
/// The child's random state (splitmix64), seeded by [`Faults::load`].
static STATE: AtomicU64 = AtomicU64::new(0);

fn next_random() -> u64 {
    let mut z = STATE
        .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// libfiu asks this at every call of an enabled point whether to fail it.
/// It only reads atomics: it runs inside libc wrappers, on any thread.
unsafe extern "C" fn decide(
    name: *const c_char,
    _failnum: *mut c_int,
    _failinfo: *mut *mut c_void,
    _flags: *mut c_uint,
) -> c_int {
    // SAFETY: libfiu passes the NUL-terminated name the point was enabled with.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    let Some(i) = POINTS.iter().position(|p| p.as_bytes() == name) else {
        return 0;
    };
    let p = PROBABILITY[i].load(Ordering::Relaxed);
    if p > 0 && next_random() % 1_000_000 < u64::from(p) {
        INJECTED[i].fetch_add(1, Ordering::Relaxed);
        1
    } else {
        0
    }
}

/// libfiu's switches, found in the preloaded library.
pub struct Faults {
    enable_external: EnableExternal,
    disable: Disable,
}

impl Faults {
    /// libfiu's functions, when this process runs under `fiu-run`.
    pub fn load(seed: u64) -> Option<&'static Faults> {
        static FAULTS: OnceLock<Option<Faults>> = OnceLock::new();
        STATE.store(seed, Ordering::Relaxed);
        FAULTS
            .get_or_init(|| {
                let find = |name: &CStr| {
                    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated
                    // name only looks the symbol up.
                    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
                    (!f.is_null()).then_some(f)
                };
                let enable = find(c"fiu_enable_external")?;
                let disable = find(c"fiu_disable")?;
                // SAFETY: these are libfiu's functions of these signatures
                // (fiu.h: fiu_enable_external and fiu_disable).
                unsafe {
                    Some(Faults {
                        enable_external: std::mem::transmute::<*mut c_void, EnableExternal>(enable),
                        disable: std::mem::transmute::<*mut c_void, Disable>(disable),
                    })
                }
            })
            .as_ref()
    }

    /// Turns on each point whose probability (a fraction) is above 0.
    pub fn enable(&self, probabilities: &[f64; POINTS.len()]) {
        for (i, &p) in probabilities.iter().enumerate() {
            PROBABILITY[i].store((p * 1e6) as u32, Ordering::Relaxed);
            if p > 0.0 {
                let name = CString::new(POINTS[i]).expect("name");
                // SAFETY: a valid name, no failinfo (libfiu then picks an
                // errno the real call can return), and a callback that lives
                // as long as the process.
                let rc = unsafe {
                    (self.enable_external)(name.as_ptr(), 1, std::ptr::null_mut(), 0, decide)
                };
                assert_eq!(rc, 0, "fiu_enable_external {}", POINTS[i]);
            }
        }
    }

    /// Turns every point off.
    pub fn disable_all(&self) {
        for (i, point) in POINTS.iter().enumerate() {
            PROBABILITY[i].store(0, Ordering::Relaxed);
            let name = CString::new(*point).expect("name");
            // SAFETY: a valid name; disabling a point that is off is harmless.
            unsafe { (self.disable)(name.as_ptr()) };
        }
    }

    /// Faults injected so far, per point.
    pub fn injected() -> [u64; POINTS.len()] {
        std::array::from_fn(|i| INJECTED[i].load(Ordering::Relaxed))
    }
}

/// Parses `CLH_FIU_P` (`p0,p1,…` fractions, one per point of [`POINTS`]).
pub fn probabilities(text: &str) -> [f64; POINTS.len()] {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse().expect("probability"))
        .collect();
    std::array::from_fn(|i| values.get(i).copied().unwrap_or(0.0))
}

/// Formats probabilities for `CLH_FIU_P`.
pub fn probabilities_env(p: &[f64; POINTS.len()]) -> String {
    p.iter().map(f64::to_string).collect::<Vec<_>>().join(",")
}
