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
//! The arena starts in a [`FIXED_BYTES`] block of the component's own zeroed
//! data, which is part of the memory an instance starts with: a call that
//! allocates less than that never grows the memory (measured: one `memory.grow`
//! costs a call ~5 µs, the host mapping the new pages in, and out again when it
//! recycles the instance). Past the block it takes pages at the end of
//! the memory, a 64 KiB page at a time, up to [`GROWN_MAX`]; an allocation
//! that does not fit after that (or once anything else has grown the memory)
//! goes to the standard allocator, which frees and reuses as usual. A plugin
//! therefore needs at most [`GROWN_MAX`] more memory than with the standard
//! allocator alone, whatever it does, and one that allocates a lot (an adapter
//! reading a large export) runs on the standard allocator after its first MiB.
//!
//! Installed as the global allocator of `wasm32` builds (without threads) by
//! the SDK's default feature `arena`; a plugin with its own `#[global_allocator]` turns it off
//! with `default-features = false`. Deterministic: the same calls get the same
//! addresses.

// The arena is used only by the global allocator of wasm32 builds (and the tests).
#![cfg_attr(not(all(target_arch = "wasm32", not(target_feature = "atomics"), feature = "arena")), allow(dead_code))]

/// Size of the arena's first block, in the component's zeroed data: with it, the
/// memory a Rust plugin starts with is one page larger (as large as it used to
/// be after the standard allocator's first `memory.grow`).
pub const FIXED_BYTES: usize = 64 << 10;

/// Most bytes the arena takes by growing the memory, past its first block;
/// past it, the standard allocator.
pub const GROWN_MAX: usize = 1 << 20;

/// A WebAssembly page.
const PAGE: usize = 64 << 10;

/// Linear memory as the arena sees it (the real one in a component; a fake in tests).
trait Memory {
    /// The arena's first block: `start..end`, in memory the instance starts with.
    fn fixed(&self) -> (usize, usize);
    /// Current size in bytes.
    fn size(&self) -> usize;
    /// Grows by `pages` pages; false when refused.
    fn grow(&mut self, pages: usize) -> bool;
}

/// Bytes `start..end` of the memory, `start..next` in use.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Region {
    start: usize,
    next: usize,
    end: usize,
}

impl Region {
    fn owns(&self, ptr: usize) -> bool {
        ptr >= self.start && ptr < self.end
    }

    /// Where `size` bytes aligned to `align` would start, and end.
    fn fit(&self, size: usize, align: usize) -> Option<(usize, usize)> {
        let at = self.next.checked_add(align - 1)? & !(align - 1);
        Some((at, at.checked_add(size)?))
    }
}

/// The arena: the fixed block, then the pages grown for it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Arena {
    fixed: Region,
    grown: Region,
    /// Set once `grown` may not grow any more (its maximum reached, or the
    /// memory grown by someone else, so it is no longer at the memory's end).
    frozen: bool,
}

impl Arena {
    /// Whether `ptr` was handed out by the arena.
    fn owns(&self, ptr: usize) -> bool {
        self.fixed.owns(ptr) || self.grown.owns(ptr)
    }

    /// Allocates `size` bytes aligned to `align` (a power of two); `None` when
    /// the arena cannot: the caller falls back to the standard allocator.
    fn alloc(&mut self, size: usize, align: usize, memory: &mut impl Memory) -> Option<usize> {
        if self.fixed.end == 0 {
            // First call.
            let (start, end) = memory.fixed();
            self.fixed = Region { start, next: start, end };
        }
        if let Some((at, next)) = self.fixed.fit(size, align) {
            if next <= self.fixed.end {
                self.fixed.next = next;
                return Some(at);
            }
        }
        if self.grown.end == 0 && !self.frozen {
            // The grown region starts where the memory ends.
            let start = memory.size();
            self.grown = Region { start, next: start, end: start };
        }
        let (at, next) = self.grown.fit(size, align)?;
        if next > self.grown.end && !self.grow_to(next, memory) {
            return None;
        }
        self.grown.next = next;
        Some(at)
    }

    /// Grows the grown region so that it ends at `want` or later; false (and
    /// frozen when it may never grow again) when it may not.
    fn grow_to(&mut self, want: usize, memory: &mut impl Memory) -> bool {
        let g = self.grown;
        if self.frozen || memory.size() != g.end || want - g.start > GROWN_MAX {
            // Keep the region contiguous and bounded: once something else owns the
            // pages after it, or it is full, it only serves what fits.
            self.frozen = self.frozen || memory.size() != g.end || g.end - g.start + PAGE > GROWN_MAX;
            return false;
        }
        let pages = (want - g.end).div_ceil(PAGE);
        if !memory.grow(pages) {
            return false;
        }
        self.grown.end += pages * PAGE;
        true
    }

    /// Frees `size` bytes at `ptr` (owned by the arena): given back only when it
    /// is the latest allocation of its region.
    fn dealloc(&mut self, ptr: usize, size: usize) {
        let r = if self.fixed.owns(ptr) { &mut self.fixed } else { &mut self.grown };
        if ptr + size == r.next {
            r.next = ptr;
        }
    }

    /// Resizes the block at `ptr` (owned by the arena) in place when it can: a
    /// shrink, or the latest allocation of its region with room after it. False:
    /// allocate, copy and free instead.
    fn resize_in_place(&mut self, ptr: usize, size: usize, new_size: usize, memory: &mut impl Memory) -> bool {
        let fixed = self.fixed.owns(ptr);
        let r = if fixed { self.fixed } else { self.grown };
        if ptr + size != r.next {
            return new_size <= size;
        }
        let Some(next) = ptr.checked_add(new_size) else { return false };
        if next > r.end && (fixed || !self.grow_to(next, memory)) {
            return false;
        }
        if fixed {
            self.fixed.next = next;
        } else {
            self.grown.next = next;
        }
        true
    }
}

// Not where wasm has threads (`atomics`): the arena is not synchronised.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics"), feature = "arena"))]
mod global {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;

    use super::{Arena, Memory, FIXED_BYTES, PAGE};

    /// The arena's first block: zeroed data (`.bss`), so part of the memory an
    /// instance starts with, and not stored in the component.
    #[repr(C, align(16))]
    struct Block([u8; FIXED_BYTES]);

    static mut BLOCK: Block = Block([0; FIXED_BYTES]);

    /// Memory 0 of the component.
    struct Linear;

    impl Memory for Linear {
        fn fixed(&self) -> (usize, usize) {
            // Only its address is taken; the arena hands the bytes out.
            let start = &raw mut BLOCK as usize;
            (start, start + FIXED_BYTES)
        }
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
    static GLOBAL: ArenaThenSystem = ArenaThenSystem(UnsafeCell::new(Arena {
        fixed: super::Region { start: 0, next: 0, end: 0 },
        grown: super::Region { start: 0, next: 0, end: 0 },
        frozen: false,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A memory of `size` bytes that grows until `limit`, with the fixed block at 4096.
    struct Fake {
        size: usize,
        limit: usize,
        grows: usize,
    }

    const FIXED_AT: usize = 4096;

    impl Memory for Fake {
        fn fixed(&self) -> (usize, usize) {
            (FIXED_AT, FIXED_AT + FIXED_BYTES)
        }
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

    const END: usize = 18 * PAGE;

    fn memory() -> Fake {
        Fake { size: END, limit: 64 << 20, grows: 0 }
    }

    /// An arena whose fixed block is full.
    fn full(m: &mut Fake) -> Arena {
        let mut a = Arena::default();
        assert_eq!(a.alloc(FIXED_BYTES, 1, m), Some(FIXED_AT));
        a
    }

    #[test]
    fn bumps_aligned_in_the_fixed_block_without_growing() {
        let (mut a, mut m) = (Arena::default(), memory());
        assert_eq!(a.alloc(3, 1, &mut m), Some(FIXED_AT));
        assert_eq!(a.alloc(8, 8, &mut m), Some(FIXED_AT + 8));
        assert_eq!(a.alloc(FIXED_BYTES - 24, 1, &mut m), Some(FIXED_AT + 16));
        assert_eq!((m.size, m.grows), (END, 0));
        assert!(a.owns(FIXED_AT) && a.owns(FIXED_AT + FIXED_BYTES - 1) && !a.owns(FIXED_AT - 1) && !a.owns(FIXED_AT + FIXED_BYTES));
    }

    #[test]
    fn then_grows_the_memory_a_page_at_a_time() {
        let mut m = memory();
        let mut a = full(&mut m);
        assert_eq!(a.alloc(8, 8, &mut m), Some(END));
        assert_eq!((m.size, m.grows), (END + PAGE, 1));
        assert_eq!(a.alloc(PAGE, 4, &mut m), Some(END + 8));
        assert_eq!((m.size, m.grows), (END + 2 * PAGE, 2));
        assert!(a.owns(END) && a.owns(END + 2 * PAGE - 1) && !a.owns(END + 2 * PAGE));
    }

    #[test]
    fn only_the_latest_allocation_is_given_back_or_grown_in_place() {
        for fill in [false, true] {
            let mut m = memory();
            let mut a = if fill { full(&mut m) } else { Arena::default() };
            let x = a.alloc(16, 8, &mut m).unwrap();
            let y = a.alloc(16, 8, &mut m).unwrap();
            a.dealloc(x, 16);
            let z = a.alloc(16, 8, &mut m).unwrap();
            assert_eq!(z, y + 16, "x stays used");
            assert!(a.resize_in_place(z, 16, 100, &mut m), "the latest grows in place");
            assert!(!a.resize_in_place(y, 16, 32, &mut m), "an older one cannot grow");
            assert!(a.resize_in_place(y, 16, 8, &mut m), "but shrinks");
            a.dealloc(z, 100);
            assert_eq!(a.alloc(1, 1, &mut m), Some(z), "z was given back");
        }
    }

    #[test]
    fn the_fixed_block_does_not_grow_in_place_the_grown_region_does() {
        let (mut a, mut m) = (Arena::default(), memory());
        let x = a.alloc(FIXED_BYTES - 8, 8, &mut m).unwrap();
        assert!(!a.resize_in_place(x, FIXED_BYTES - 8, FIXED_BYTES + 8, &mut m));
        let y = a.alloc(PAGE - 8, 8, &mut m).unwrap();
        assert_eq!(y, END);
        assert!(a.resize_in_place(y, PAGE - 8, PAGE + 8, &mut m));
        assert_eq!(m.size, END + 2 * PAGE);
    }

    #[test]
    fn past_its_maximum_it_declines_and_stays_bounded() {
        let mut m = memory();
        let mut a = full(&mut m);
        assert_eq!(a.alloc(GROWN_MAX - 8, 8, &mut m), Some(END));
        assert_eq!(a.alloc(64, 8, &mut m), None, "would pass the maximum");
        assert!(a.frozen);
        assert_eq!(a.alloc(8, 8, &mut m), Some(END + GROWN_MAX - 8), "what still fits is served");
        assert_eq!(m.size, END + GROWN_MAX);
        // A large request declines without taking memory.
        let mut n = memory();
        let mut b = full(&mut n);
        assert_eq!(b.alloc(2 * GROWN_MAX, 8, &mut n), None);
        assert_eq!(n.size, END);
    }

    #[test]
    fn stops_growing_once_the_memory_grew_behind_its_back() {
        let mut m = memory();
        let mut a = full(&mut m);
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
        let mut m = Fake { size: END, limit: END, grows: 0 };
        let mut a = full(&mut m);
        assert_eq!(a.alloc(1, 1, &mut m), None);
        assert_eq!(a.alloc(1, 1, &mut m), None);
    }
}
