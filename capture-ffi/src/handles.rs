//! Handles: positive `i64` ids into tables of objects, never raw pointers.
//!
//! Ids are unique across all tables (one counter), so a capture id passed to a writer function
//! is reported as a closed handle rather than acting on the wrong object. An object lives in an
//! `Arc`: a call in progress on another thread (a live `ps_capture_next` on Deno's blocking pool)
//! keeps it alive while `close` removes it from the table; it is dropped when that call returns.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result, CLOSED_HANDLE};

static NEXT_ID: AtomicI64 = AtomicI64::new(1);

/// A table of objects of one kind, keyed by handle id.
pub struct HandleTable<T> {
    map: Mutex<BTreeMap<i64, Arc<T>>>,
    kind: &'static str,
}

impl<T> HandleTable<T> {
    /// An empty table; `kind` names the objects in error messages ("capture", "pcap writer").
    pub const fn new(kind: &'static str) -> Self {
        HandleTable {
            map: Mutex::new(BTreeMap::new()),
            kind,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Arc<T>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `obj` and returns its new id.
    pub fn insert(&self, obj: T) -> i64 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, Arc::new(obj));
        id
    }

    /// The object with id `id`, or a closed-handle error.
    pub fn get(&self, id: i64) -> Result<Arc<T>> {
        self.lock().get(&id).cloned().ok_or_else(|| self.closed(id))
    }

    /// Removes and returns the object with id `id`, or a closed-handle error.
    pub fn remove(&self, id: i64) -> Result<Arc<T>> {
        self.lock().remove(&id).ok_or_else(|| self.closed(id))
    }

    fn closed(&self, id: i64) -> Error {
        Error::new(
            CLOSED_HANDLE,
            format!("{} handle {id} is closed or unknown", self.kind),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_removal_is_reported_once() {
        static T: HandleTable<u32> = HandleTable::new("test");
        let a = T.insert(1);
        let b = T.insert(2);
        assert!(a > 0 && b > a);
        assert_eq!(*T.get(b).unwrap(), 2);
        assert_eq!(*T.remove(a).unwrap(), 1);
        assert_eq!(T.remove(a).unwrap_err().code, CLOSED_HANDLE);
        assert_eq!(T.get(a).unwrap_err().code, CLOSED_HANDLE);
    }
}
