//! The stat key: what a `stat` says about a file that changes whenever its bytes do.
//!
//! Size and mtime are not enough: a deploy may keep both (Nix sets every mtime to 1, container
//! layers keep the image's). The key adds the device, the inode and the *ctime*, which no user
//! can set: any write, rename onto the path or `touch -d` moves it to the current time. A
//! replaced file has a new inode, or (when the inode number is reused) a newer ctime.
//!
//! One gap remains, the "racy" one git's index has: a ctime has the file system's clock
//! granularity, so a file written again within the same tick as the write that was hashed
//! could keep its whole key. A key is therefore trusted only when its ctime is older than the
//! hash by more than [`RACY_WINDOW`]; a younger one is hashed again when next asked.

use std::fs::Metadata;
use std::time::{Duration, SystemTime};

/// How much older than the hash a file's ctime must be for its key to be trusted. File systems
/// stamp ctime from a clock of at most 10 ms granularity (ext4, XFS, btrfs, tmpfs); one second
/// also covers coarser ones.
pub(crate) const RACY_WINDOW: Duration = Duration::from_secs(1);

/// Identifies one version of a file's bytes, as far as `stat` can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StatKey {
    len: u64,
    mtime: Option<SystemTime>,
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl StatKey {
    pub(crate) fn of(metadata: &Metadata) -> StatKey {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        StatKey {
            len: metadata.len(),
            mtime: metadata.modified().ok(),
            #[cfg(unix)]
            dev: metadata.dev(),
            #[cfg(unix)]
            ino: metadata.ino(),
            #[cfg(unix)]
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// Whether an open file still holds the bytes it held when `self` was taken: the same
    /// inode, size and mtime. The ctime is left out: removing or replacing the file's name
    /// (a deploy renaming a new version over it) changes it without touching the bytes.
    pub(crate) fn same_bytes(&self, later: &StatKey) -> bool {
        #[cfg(unix)]
        let same_inode = self.dev == later.dev && self.ino == later.ino;
        #[cfg(not(unix))]
        let same_inode = true;
        same_inode && self.len == later.len && self.mtime == later.mtime
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn mtime(&self) -> Option<SystemTime> {
        self.mtime
    }

    /// Whether a hash of the file started at `hashed_at` may stand for this key from now on
    /// (see the module docs). Without a ctime (not Unix) there is no such check: the key is
    /// size and mtime alone there, as the crate docs say.
    pub(crate) fn settled_at(&self, hashed_at: SystemTime) -> bool {
        #[cfg(unix)]
        {
            let (secs, nanos) = self.ctime;
            let Ok(secs) = u64::try_from(secs) else {
                return true; // before 1970: long settled
            };
            let ctime = SystemTime::UNIX_EPOCH
                + Duration::from_secs(secs)
                + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0));
            ctime + RACY_WINDOW < hashed_at
        }
        #[cfg(not(unix))]
        {
            let _ = hashed_at;
            true
        }
    }
}
