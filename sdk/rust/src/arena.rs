//! The allocator of components built with the SDK: a bump arena first, the
//! standard allocator after.
//!
//! ratchet runs every call on a fresh instance, whose memory is thrown away
//! when the call returns, so a plugin call is a short burst of allocations
//! that are mostly never reused: receiving the conversation (one allocation
//! per string and list the host writes into the guest), parsing, building the
//! result. The arena serves them by bumping a pointer — a handful of
//! instructions, where the standard allocator (dlmalloc on
//! `wasm32-unknown-unknown`) spends a few hundred per `malloc`/`free` pair.
//! Freeing gives memory back only when it is the latest allocation (so
//! stack-like use and growing the latest `Vec`/`String` in place stay cheap);
//! anything else freed in the arena stays used until the instance is dropped.
//!
//! The arena grows with the memory, a 64 KiB page at a time, up to
//! [`ARENA_MAX`]; an allocation that does not fit after that (or once anything
//! else has grown the memory) goes to the standard allocator, which frees and
//! reuses as usual. A plugin therefore needs at most [`ARENA_MAX`] more memory
//! than with the standard allocator alone, whatever it does, and a plugin
//! that allocates a lot (an adapter reading a large export) runs on the
//! standard allocator after its first MiB.
//!
//! Installed as the global allocator of `wasm32` builds by the SDK's default
//! feature `arena`; a plugin with its own `#[global_allocator]` turns it off
//! with `default-features = false`. Deterministic: the same calls get the same
//! addresses.

// The arena is used only by the global allocator of wasm32 builds (and the tests).
#![cfg_attr(not(all(target_arch = "wasm32", feature = "arena")), allow(dead_code))]

/// Most bytes the arena takes from the memory; past it, the standard allocator.
pub const ARENA_MAX: usize = 1 << 20;

/// A WebAssembly page.
const PAGE: usize = 64 << 10;

/// Linear memory as the arena sees it (the real one in a component; a fake in tests).
trait Memory {
    /// Current size in bytes.
    fn size(&self) -> usize;
    /// Grows by `pages` pages; false when refused.
    fn grow(&mut self, pages: usize) -> bool;
}

/// The arena: `[start, end)` taken from the memory, `[start, next)` in use.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Arena {
    start: usize,
    next: usize,
    end: usize,
    /// Set once the arena may not grow any more (its maximum reached, or the
    /// memory grown by someone else, so the arena is no longer at its end).
    frozen: bool,
}

impl Arena {
    /// Whether `ptr` was handed out by the arena.
    fn owns(&self, ptr: usize) -> bool {
        ptr >= self.start && ptr < self.end
    }

    /// Allocates `size` bytes aligned to `align` (a power of two); `None` when
    /// the arena cannot: the caller falls back to the standard allocator.
    fn alloc(&mut self, size: usize, align: usize, memory: &mut impl Memory) -> Option<usize> {
        if self.end == 0 && !self.frozen {
            // First call: the arena starts where the memory ends.
            self.start = memory.size();
            self.next = self.start;
            self.end = self.start;
        }
        let at = self.next.checked_add(align - 1)? & !(align - 1);
        let new_next = at.checked_add(size)?;
        if new_next > self.end && !self.grow_to(new_next, memory) {
            return None;
        }
        self.next = new_next;
        Some(at)
    }

    /// Grows the arena so that it ends at `want` or later; false (and frozen)
    /// when it may not.
    fn grow_to(&mut self, want: usize, memory: &mut impl Memory) -> bool {
        if self.frozen || memory.size() != self.end || want - self.start > ARENA_MAX {
            // Keep the arena contiguous and bounded: once something else owns the
            // pages after it, or it is full, it only serves what fits.
            self.frozen = self.frozen || memory.size() != self.end || self.end - self.start + PAGE > ARENA_MAX;
            return false;
        }
        let pages = (want - self.end).div_ceil(PAGE);
        if !memory.grow(pages) {
            return false;
        }
        self.end += pages * PAGE;
        true
    }

    /// Frees `size` bytes at `ptr` (owned by the arena): given back only when it
    /// is the latest allocation.
    fn dealloc(&mut self, ptr: usize, size: usize) {
        if ptr + size == self.next {
            self.next = ptr;
        }
    }

    /// Resizes the block at `ptr` (owned by the arena) in place when it can: a
    /// shrink, or the latest allocation with room after it. False: allocate,
    /// copy and free instead.
    fn resize_in_place(&mut self, ptr: usize, size: usize, new_size: usize, memory: &mut impl Memory) -> bool {
        if ptr + size == self.next {
            let Some(new_next) = ptr.checked_add(new_size) else { return false };
            if new_next > self.end && !self.grow_to(new_next, memory) {
                return false;
            }
            self.next = new_next;
            true
        } else {
            new_size <= size
        }
    }
}

#[cfg(all(target_arch = "wasm32", feature = "arena"))]
mod global {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;

    use super::{Arena, Memory, PAGE};

    /// Memory 0 of the component.
    struct Linear;

    impl Memory for Linear {
        fn size(&self) -> usize {
            core::arch::wasm32::memory_size(0) * PAGE
        }
        fn grow(&mut self, pages: usize) -> bool {
            core::arch::wasm32::memory_grow(0, pages) != usize::MAX
        }
    }

    /// The SDK's global allocator in components: the arena, then [`System`].
    pub struct ArenaThenSystem(UnsafeCell<Arena>);

    // A component is single-threaded (no shared memory, no threads): the arena
    // is never touched by two threads.
    unsafe impl Sync for ArenaThenSystem {}

    impl ArenaThenSystem {
        #[allow(clippy::mut_from_ref)]
        fn arena(&self) -> &mut Arena {
            // Single-threaded, and no reference outlives a call below.
            unsafe { &mut *self.0.get() }
        }
    }

    unsafe impl GlobalAlloc for ArenaThenSystem {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            match self.arena().alloc(layout.size(), layout.align(), &mut Linear) {
                Some(at) => at as *mut u8,
                None => System.alloc(layout),
            }
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let arena = self.arena();
            if arena.owns(ptr as usize) {
                arena.dealloc(ptr as usize, layout.size());
            } else {
                System.dealloc(ptr, layout);
            }
        }

        #[inline]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let arena = self.arena();
            if !arena.owns(ptr as usize) {
                return System.realloc(ptr, layout, new_size);
            }
            if arena.resize_in_place(ptr as usize, layout.size(), new_size, &mut Linear) {
                return ptr;
            }
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    #[global_allocator]
    static GLOBAL: ArenaThenSystem = ArenaThenSystem(UnsafeCell::new(Arena { start: 0, next: 0, end: 0, frozen: false }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory of `size` bytes that grows until `limit`.
    struct Fake {
        size: usize,
        limit: usize,
        grows: usize,
    }

    impl Memory for Fake {
        fn size(&self) -> usize {
            self.size
        }
        fn grow(&mut self, pages: usize) -> bool {
            if self.size + pages * PAGE > self.limit {
                return false;
            }
            self.size += pages * PAGE;
            self.grows += 1;
            true
        }
    }

    fn memory() -> Fake {
        Fake { size: 17 * PAGE, limit: 64 << 20, grows: 0 }
    }

    #[test]
    fn bumps_aligned_from_the_end_of_memory_growing_a_page_at_a_time() {
        let (mut a, mut m) = (Arena::default(), memory());
        let start = 17 * PAGE;
        assert_eq!(a.alloc(3, 1, &mut m), Some(start));
        assert_eq!(a.alloc(8, 8, &mut m), Some(start + 8));
        assert_eq!((m.size, m.grows), (18 * PAGE, 1));
        assert_eq!(a.alloc(PAGE, 4, &mut m), Some(start + 16));
        assert_eq!((m.size, m.grows), (19 * PAGE, 2));
        assert!(a.owns(start) && a.owns(start + 16) && !a.owns(start - 1) && !a.owns(19 * PAGE));
    }

    #[test]
    fn only_the_latest_allocation_is_given_back_or_grown_in_place() {
        let (mut a, mut m) = (Arena::default(), memory());
        let x = a.alloc(16, 8, &mut m).unwrap();
        let y = a.alloc(16, 8, &mut m).unwrap();
        a.dealloc(x, 16);
        assert_eq!(a.alloc(16, 8, &mut m), Some(y + 16), "x stays used");
        let z = y + 16;
        assert!(a.resize_in_place(z, 16, 100, &mut m), "the latest grows in place");
        assert_eq!(a.next, z + 100);
        assert!(!a.resize_in_place(y, 16, 32, &mut m), "an older one cannot grow");
        assert!(a.resize_in_place(y, 16, 8, &mut m), "but shrinks");
        a.dealloc(z, 100);
        assert_eq!(a.next, z);
    }

    #[test]
    fn past_its_maximum_it_declines_and_stays_bounded() {
        let (mut a, mut m) = (Arena::default(), memory());
        let start = 17 * PAGE;
        assert!(a.alloc(ARENA_MAX - 8, 8, &mut m).is_some());
        assert_eq!(a.alloc(64, 8, &mut m), None, "would pass the maximum");
        assert!(a.frozen);
        assert_eq!(a.alloc(8, 8, &mut m), Some(start + ARENA_MAX - 8), "what still fits is served");
        assert_eq!(m.size, start + ARENA_MAX);
        // A large request declines without taking memory.
        let (mut b, mut n) = (Arena::default(), memory());
        assert_eq!(b.alloc(2 * ARENA_MAX, 8, &mut n), None);
        assert_eq!(n.size, 17 * PAGE);
    }

    #[test]
    fn stops_growing_once_the_memory_grew_behind_its_back() {
        let (mut a, mut m) = (Arena::default(), memory());
        let x = a.alloc(100, 8, &mut m).unwrap();
        assert!(m.grow(4), "the standard allocator takes pages after the arena");
        assert_eq!(a.alloc(PAGE, 8, &mut m), None);
        assert!(a.frozen);
        assert!(!a.owns(m.size - 1));
        assert_eq!(a.alloc(8, 8, &mut m), Some(x + 104), "the rest of its page is still served");
        assert!(!a.resize_in_place(x + 104, 8, PAGE, &mut m));
    }

    #[test]
    fn a_refused_grow_declines() {
        let (mut a, mut m) = (Arena::default(), Fake { size: PAGE, limit: PAGE, grows: 0 });
        assert_eq!(a.alloc(1, 1, &mut m), None);
        assert_eq!(a.alloc(1, 1, &mut m), None);
    }
}
