//! A byte budget between the backup producer and the assembler.
//!
//! The event channel is bounded by count so that small files (three tiny events each) can
//! queue up while the workers seal the previous batch; chunk bytes in flight are bounded
//! here instead, so memory stays bounded when chunks are large.

use std::sync::{Condvar, Mutex};

/// Counts bytes in flight; `acquire` waits while the budget is spent.
pub struct ByteGate {
    state: Mutex<(usize, bool)>,
    cv: Condvar,
    limit: usize,
}

impl ByteGate {
    /// A gate admitting about `limit` bytes at once.
    pub fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new((0, false)),
            cv: Condvar::new(),
            limit,
        }
    }

    /// Waits until `n` more bytes fit (a single oversized item is let through alone);
    /// false once the gate is closed.
    pub fn acquire(&self, n: usize) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while !s.1 && s.0 > 0 && s.0 + n > self.limit {
            s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        if s.1 {
            return false;
        }
        s.0 += n;
        true
    }

    /// Returns `n` bytes to the budget.
    pub fn release(&self, n: usize) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 = s.0.saturating_sub(n);
        self.cv.notify_all();
    }

    /// Wakes and refuses every waiter from now on (the consumer stopped).
    pub fn close(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1 = true;
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_blocks_until_released_and_close_frees_waiters() {
        let g = std::sync::Arc::new(ByteGate::new(10));
        assert!(g.acquire(8));
        g.release(8);
        assert!(g.acquire(100), "an oversized item passes alone");
        g.release(100);
        assert!(g.acquire(5));
        let g2 = g.clone();
        let t = std::thread::spawn(move || g2.acquire(9));
        std::thread::sleep(std::time::Duration::from_millis(50));
        g.close();
        assert!(!t.join().unwrap());
    }
}
