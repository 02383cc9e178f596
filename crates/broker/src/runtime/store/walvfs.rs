//! The writer's VFS: SQLite's own (`unix`), except that a WAL frame goes to
//! the file in one system call instead of two.
//!
//! SQLite writes each frame of a commit as its 24-byte header, then its page,
//! with a `pwrite` each; a send dirties ≈ 4 pages, so ≈ 9 of these calls per
//! send were the largest single cost of the writer thread (BENCHMARKS.md,
//! "The writer's cycle"). Here a write of at most [`HELD`] bytes to a WAL
//! file is held back; the next write to that file, if it begins where the
//! held bytes end, goes out together with them in one call. Any other call
//! on the file (a write elsewhere, a read, a sync, a truncation, its size,
//! its locks, closing it) first writes what is held. SQLite writes a frame's
//! header and page back to back and publishes the frames (the WAL index in
//! shared memory, a method of the database file, not of the WAL) only after
//! the last page of the commit, so no reader can look for bytes still held:
//! what other connections and a crash see is what plain `unix` would have
//! left.
//!
//! Only the writer's connection opens the database through this VFS
//! ([`NAME`]); readers and the checkpoint thread use `unix`. Everything but
//! the WAL file's writes is `unix`'s own code, called on the same file
//! structure (the held bytes live after it), so locks and shared memory are
//! shared with the other connections as before.

use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name the writer opens the database with.
pub const NAME: &CStr = c"claude-peers-wal";

/// Writes of at most this many bytes to a WAL file are held for the next
/// one (a frame header is 24 bytes, the WAL's own header 32: both fit, and
/// both are followed by the write they belong with).
pub const HELD: usize = 64;

/// What this VFS keeps after `unix`'s file structure.
#[repr(C)]
struct Held {
    /// `unix`'s methods for this file.
    real: *const ffi::sqlite3_io_methods,
    bytes: [u8; HELD],
    len: usize,
    /// File offset of `bytes[0]`.
    at: i64,
}

struct Vfs {
    vfs: ffi::sqlite3_vfs,
    /// `unix` itself.
    real: *mut ffi::sqlite3_vfs,
    /// `unix`'s size of a file structure; [`Held`] follows it (8-aligned).
    real_size: usize,
    /// The WAL files' methods: `unix`'s, each wrapped.
    methods: ffi::sqlite3_io_methods,
}

// SAFETY: written once in `register`, then only read (SQLite calls into it
// from any thread, as it does into `unix`).
unsafe impl Send for Vfs {}
unsafe impl Sync for Vfs {}

static VFS: OnceLock<Result<Box<Vfs>, c_int>> = OnceLock::new();

/// Register the VFS (once per process); an SQLite error code if `unix`
/// cannot be found or registration fails.
pub fn register() -> Result<(), c_int> {
    match VFS.get_or_init(make) {
        Ok(_) => Ok(()),
        Err(rc) => Err(*rc),
    }
}

fn make() -> Result<Box<Vfs>, c_int> {
    // SAFETY: `sqlite3_vfs_find` returns SQLite's static `unix` VFS (or
    // null); it lives as long as the process.
    let real = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
    if real.is_null() {
        return Err(ffi::SQLITE_ERROR);
    }
    // SAFETY: `real` is valid (above); a copy of it keeps its functions and
    // its `pAppData`, which they read.
    let mut vfs: ffi::sqlite3_vfs = unsafe { std::ptr::read(real) };
    let real_size = (unsafe { (*real).szOsFile } as usize).next_multiple_of(8);
    vfs.szOsFile = (real_size + std::mem::size_of::<Held>()) as c_int;
    vfs.zName = NAME.as_ptr();
    vfs.pNext = std::ptr::null_mut();
    vfs.xOpen = Some(open);
    let methods = ffi::sqlite3_io_methods {
        iVersion: 3,
        xClose: Some(close),
        xRead: Some(read),
        xWrite: Some(write),
        xTruncate: Some(truncate),
        xSync: Some(sync),
        xFileSize: Some(file_size),
        xLock: Some(lock),
        xUnlock: Some(unlock),
        xCheckReservedLock: Some(check_reserved_lock),
        xFileControl: Some(file_control),
        xSectorSize: Some(sector_size),
        xDeviceCharacteristics: Some(device_characteristics),
        xShmMap: Some(shm_map),
        xShmLock: Some(shm_lock),
        xShmBarrier: Some(shm_barrier),
        xShmUnmap: Some(shm_unmap),
        xFetch: Some(fetch),
        xUnfetch: Some(unfetch),
    };
    let mut me = Box::new(Vfs {
        vfs,
        real,
        real_size,
        methods,
    });
    // SAFETY: the box never moves or drops (it lives in a static), so the
    // pointer SQLite keeps stays valid.
    let rc = unsafe { ffi::sqlite3_vfs_register(&mut me.vfs, 0) };
    if rc != ffi::SQLITE_OK {
        return Err(rc);
    }
    Ok(me)
}

fn me() -> &'static Vfs {
    match VFS.get() {
        Some(Ok(v)) => v,
        // SQLite only calls into the VFS after it was registered.
        _ => unreachable!("the WAL VFS is used before it was registered"),
    }
}

/// The held bytes of file `f`.
///
/// SAFETY: `f` was opened by [`open`] as a WAL file.
unsafe fn held<'a>(f: *mut ffi::sqlite3_file) -> &'a mut Held {
    unsafe { &mut *((f as *mut u8).add(me().real_size) as *mut Held) }
}

/// `unix`'s methods of file `f`.
unsafe fn real<'a>(f: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*held(f).real }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    f: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let v = me();
    // SAFETY: `f` has room for `unix`'s structure and ours after it.
    let rc = unsafe {
        match (*v.real).xOpen {
            Some(open) => open(v.real, name, f, flags, out_flags),
            None => ffi::SQLITE_ERROR,
        }
    };
    if rc != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not a WAL file: `unix` as it is.
        return rc;
    }
    unsafe {
        let real = (*f).pMethods;
        if real.is_null() || (*real).iVersion < 3 {
            return rc;
        }
        std::ptr::write(
            (f as *mut u8).add(v.real_size) as *mut Held,
            Held {
                real,
                bytes: [0; HELD],
                len: 0,
                at: 0,
            },
        );
        (*f).pMethods = &v.methods;
    }
    rc
}

/// Write what is held, if anything.
unsafe fn flush(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let h = held(f);
        if h.len == 0 {
            return ffi::SQLITE_OK;
        }
        let len = std::mem::take(&mut h.len);
        match real(f).xWrite {
            Some(w) => w(f, h.bytes.as_ptr() as *const c_void, len as c_int, h.at),
            None => ffi::SQLITE_IOERR_WRITE,
        }
    }
}

unsafe extern "C" fn write(
    f: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    unsafe {
        let h = held(f);
        let n = amount.max(0) as usize;
        let follows = h.len > 0 && h.at + h.len as i64 == offset;
        if (h.len == 0 || follows) && h.len + n <= HELD {
            // Small: hold it (after what is held, if it follows that).
            if h.len == 0 {
                h.at = offset;
            }
            std::ptr::copy_nonoverlapping(data as *const u8, h.bytes.as_mut_ptr().add(h.len), n);
            h.len += n;
            return ffi::SQLITE_OK;
        }
        let Some(w) = real(f).xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if !follows {
            let rc = flush(f);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            return w(f, data, amount, offset);
        }
        // The held bytes and this write, in one call.
        let len = std::mem::take(&mut h.len);
        let mut joined = Vec::with_capacity(len + n);
        joined.extend_from_slice(&h.bytes[..len]);
        joined.extend_from_slice(std::slice::from_raw_parts(data as *const u8, n));
        w(
            f,
            joined.as_ptr() as *const c_void,
            joined.len() as c_int,
            h.at,
        )
    }
}

/// A method that first writes what is held, then is `unix`'s.
macro_rules! flushed {
    ($name:ident, $field:ident ( $($arg:ident : $ty:ty),* ) -> c_int) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            unsafe {
                let rc = flush(f);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match real(f).$field {
                    Some(m) => m(f $(, $arg)*),
                    None => ffi::SQLITE_IOERR,
                }
            }
        }
    };
}

flushed!(read, xRead(data: *mut c_void, amount: c_int, offset: i64) -> c_int);
flushed!(truncate, xTruncate(size: i64) -> c_int);
flushed!(sync, xSync(flags: c_int) -> c_int);
flushed!(file_size, xFileSize(size: *mut i64) -> c_int);
flushed!(lock, xLock(level: c_int) -> c_int);
flushed!(unlock, xUnlock(level: c_int) -> c_int);
flushed!(check_reserved_lock, xCheckReservedLock(out: *mut c_int) -> c_int);
flushed!(file_control, xFileControl(op: c_int, arg: *mut c_void) -> c_int);
flushed!(shm_map, xShmMap(page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
flushed!(shm_lock, xShmLock(offset: c_int, n: c_int, flags: c_int) -> c_int);
flushed!(shm_unmap, xShmUnmap(delete: c_int) -> c_int);
flushed!(fetch, xFetch(offset: i64, amount: c_int, out: *mut *mut c_void) -> c_int);
flushed!(unfetch, xUnfetch(offset: i64, page: *mut c_void) -> c_int);

unsafe extern "C" fn close(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        let rc = flush(f);
        let closed = match real(f).xClose {
            Some(c) => c(f),
            None => ffi::SQLITE_OK,
        };
        if rc != ffi::SQLITE_OK { rc } else { closed }
    }
}

unsafe extern "C" fn sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        match real(f).xSectorSize {
            Some(m) => m(f),
            None => 4096,
        }
    }
}

unsafe extern "C" fn device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    unsafe {
        match real(f).xDeviceCharacteristics {
            Some(m) => m(f),
            None => 0,
        }
    }
}

unsafe extern "C" fn shm_barrier(f: *mut ffi::sqlite3_file) {
    unsafe {
        flush(f);
        if let Some(m) = real(f).xShmBarrier {
            m(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    fn writer(path: &std::path::Path) -> Connection {
        register().unwrap();
        let c = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        c.pragma_update(None, "synchronous", "NORMAL").unwrap();
        c
    }

    /// What the writer commits through this VFS, another connection (plain
    /// `unix`) reads, while the writer is open and after it has closed; and
    /// the WAL holds whole frames.
    #[test]
    fn commits_through_it_read_back_from_plain_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let w = writer(&path);
        w.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .unwrap();
        let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        for round in 0..20 {
            let tx = w.unchecked_transaction().unwrap();
            for i in 0..50 {
                tx.execute(
                    "INSERT INTO t (v) VALUES (?1)",
                    [format!("{round}-{i}-{}", "x".repeat(200))],
                )
                .unwrap();
            }
            tx.commit().unwrap();
            let n: i64 = reader
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, (round + 1) * 50);
        }
        // Each frame is a 24-byte header and a page, after a 32-byte header.
        let page: i64 = w.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
        let wal = std::fs::metadata(path.with_extension("db-wal"))
            .unwrap()
            .len() as i64;
        assert_eq!((wal - 32) % (24 + page), 0, "WAL of {wal} bytes");
        let check: String = reader
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        drop(w);
        let n: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1000);
    }
}
